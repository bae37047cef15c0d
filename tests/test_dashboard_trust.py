"""Trust on screen with the committed bundles (``trained_models/``): one number per model on every page, in
the HTML report and in the benchmark's ``summary.csv``, and the ranking page opening on the models with
the best evidence.

Run headless by Streamlit's AppTest like ``test_dashboard_pages.py``; expected numbers come from the
library (each bundle's fold-centred within-drug r from its own reference predictions), never from the page.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from dashboard_fixtures import APP, REPO_ROOT, plotly_numbers
from streamlit.testing.v1 import AppTest

from core.config import MODELS_DIR_ENV
from core.data.registry import load_cohort
from core.evaluation.cohort_scores import scored_table
from core.evaluation.evidence import EVIDENCE_FILE, Evidence, best_architecture, stored_evidence
from core.evaluation.held_out import held_out_of
from core.evaluation.metrics import within_drug_fold
from core.evaluation.performance import HEADLINE
from core.inference.bundle import load_bundle, read_manifest
from core.study_design import TRAINING_LABELS, TRAININGS
from core.usecases.organoid_report import ReportedModel, organoid_report_html
from core.usecases.ranking import organoid_ranking
from dashboard.bundles import ARCHITECTURES

COMMITTED = REPO_ROOT / "trained_models"
TIMEOUT = 600  # a ceiling no normal load reaches: AppTest.run returns as soon as the page's run ends
STORED = 1e-4  # bundle_evidence.csv and summary.csv keep 4 significant digits
LABELS = {(ARCHITECTURES[a], TRAINING_LABELS[k]): (a, k) for a in ARCHITECTURES for k in TRAININGS}


@pytest.fixture
def committed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(COMMITTED))


def _reference(architecture: str, training: str) -> pd.DataFrame:
    return pd.read_csv(
        COMMITTED / f"colorectal_{architecture}_{training}" / "reference_predictions.csv.gz", dtype={"sample": str}
    )


def _headline(architecture: str, training: str) -> float:
    """The one number of a shipped model: its fold-centred within-drug r, from its own reference predictions."""
    return within_drug_fold(scored_table(_reference(architecture, training)))


def _scored(within_drug: float) -> Evidence:
    """Evidence with only the headline score, the one field :func:`best_architecture` ranks by."""
    return Evidence(within_drug, float("nan"), float("nan"), float("nan"), float("nan"), 0)


def _chart(app: AppTest, trace_name: str) -> dict:
    for chart in app.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            if trace.get("name") == trace_name:
                return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart with a trace named {trace_name!r}")


def test_one_number_per_model_on_the_performance_page_in_the_report_and_in_summary_csv(committed) -> None:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).switch_page("views/performance.py").run()
    assert not app.exception
    expected = {key: _headline(*key) for key in LABELS.values()}
    evidence_table, benchmark_table = app.dataframe[0].value, app.dataframe[1].value
    for table in (evidence_table, benchmark_table):
        models = table[table["architecture"] != "-"]
        assert len(models) == len(expected)
        for _, row in models.iterrows():
            assert row["within-drug r"] == pytest.approx(
                expected[LABELS[row["architecture"], row["training"]]], abs=STORED
            )

    # The learning curve's stars are the same numbers; its own points are summary.csv's separate runs, and the
    # caption names their widest gap.
    summary = pd.read_csv(COMMITTED / "benchmark" / "summary.csv", dtype={"n_finetune": str})
    cell = summary[(summary["dataset"] == "colorectal") & (summary["split"] == "precision_oncology")]
    grid = {
        tuple(model.split("_")): value
        for model, value, size in zip(cell["model"], cell[HEADLINE], cell["n_finetune"])
        if size in ("all", "0") and model.split("_")[0] in ARCHITECTURES
    }
    curve = _chart(app, "shipped model (star)")
    stars = sorted(
        y for trace in curve["data"] if trace["name"] == "shipped model (star)" for y in plotly_numbers(trace["y"])
    )
    assert stars == pytest.approx(sorted(expected.values()), abs=STORED)
    for architecture in ARCHITECTURES:  # zero-shot: the shipped model itself, so the same number (stored to 4 digits)
        assert grid[(architecture, "zeroshot")] == pytest.approx(expected[(architecture, "zeroshot")], abs=STORED)
    gaps = {key: grid[key] - expected[key] for key in expected if key[1] != "zeroshot"}
    widest = max(gaps, key=lambda key: abs(gaps[key]))
    sentence = f"the two differ by up to {abs(gaps[widest]):.2f} on this score"
    assert any(sentence in caption.value for caption in app.caption), sentence
    # One story about a training run's noise: the same caption names how far five seeds moved one model's score,
    # the number the seed-spread heading gives.
    spread = pd.read_csv(COMMITTED / "benchmark" / "seed_spread.csv")
    single = spread[(spread["score"] == "within_drug_pearson") & ~spread["model"].str.contains(" - ")]
    seeds = f"one model's within-drug r spans up to {(single['max'] - single['min']).max():.2f}"
    assert any(sentence in c.value and seeds in c.value for c in app.caption), seeds
    assert any(e.label.startswith(f"How much one training run varies: over five seeds, {seeds}") for e in app.expander)

    # The held-out lines, as held_out_evidence.csv has them, say whether each model's training saw them; the
    # calibration study's Brier skill against a coin comes with its interval.
    held_out = pd.read_csv(COMMITTED / "benchmark" / "held_out_evidence.csv").set_index("bundle")
    lines = app.dataframe[3].value
    assert len(lines) == len(expected)
    for _, row in lines.iterrows():
        stored_row = held_out.loc["colorectal_{}_{}".format(*LABELS[row["architecture"], row["training"]])]
        assert row["within-drug r"] == pytest.approx(stored_row["within_drug"], abs=1e-9)
        assert row["never seen in training"] == ("yes" if stored_row["independent"] else "no")
        assert row["verdict"].startswith("not a test") != bool(stored_row["independent"])
    calibration = app.dataframe[4].value
    assert set(calibration["held-out set"]) == {"organoids, out of fold", "GDSC colorectal lines"}
    assert calibration["95 % interval"].str.fullmatch(r"[+-]\d\.\d{3} to [+-]\d\.\d{3}").all()

    # The report states each model's number and permutation p as the pages and bundle_evidence.csv do.
    stored = pd.read_csv(COMMITTED / "benchmark" / EVIDENCE_FILE).set_index("bundle")
    organoid = load_cohort("colorectal").expression.loc[["P10"]]
    models = []
    for key in (("convnn", "scratch"), ("convnn", "finetuned")):
        bundle = load_bundle(COMMITTED / f"colorectal_{key[0]}_{key[1]}")
        found = stored_evidence(stored.reset_index(), bundle.name, bundle.manifest)
        lines = held_out_of(COMMITTED, bundle.name, bundle.manifest)
        models.append(
            ReportedModel(TRAINING_LABELS[key[1]], bundle.manifest, found, organoid_ranking(bundle, organoid), lines)
        )
    report = organoid_report_html("P10", models, n_reference=19)
    for key in (("convnn", "scratch"), ("convnn", "finetuned")):
        name = f"colorectal_{key[0]}_{key[1]}"
        row = stored.loc[name]
        assert row["within_drug"] == pytest.approx(expected[key], abs=STORED)
        assert (
            f"<td>{TRAINING_LABELS[key[1]]}</td><td>{name}</td><td>{read_manifest(COMMITTED / name).created[:10]}</td>"
            f"<td>{expected[key]:+.2f}</td><td>{row['p_value']:.2f}</td>"
        ) in report
        lines = held_out.loc[name]  # and what the held-out lines say, as the performance page does
        said = "no better than chance" if lines["independent"] else "not a test: its training saw them"
        assert f"<td>r = {lines['within_drug']:+.2f} (p = {lines['p_value']:.2g}): {said}</td>" in report


def test_ranking_opens_on_the_best_evidence_and_shows_the_same_numbers(committed) -> None:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).switch_page("views/upload.py").run()
    app.radio(key="upload_source").set_value("Use a reference organoid as a demo").run()
    next(b for b in app.button if b.label == "Use as demo profile").click().run()
    assert app.session_state["profile"] is not None
    app = app.switch_page("views/ranking.py").run()
    assert not app.exception
    scores = {(a, k): _headline(a, k) for a in ARCHITECTURES for k in TRAININGS}
    best = best_architecture({a: [_scored(scores[(a, k)]) for k in ("scratch", "finetuned")] for a in ARCHITECTURES})
    assert app.radio(key="ranking_architecture").value == best
    zero_shot_best = max(TRAININGS, key=lambda k: scores[(best, k)]) == "zeroshot"
    # Zero-shot joins without being ticked when its evidence is the best; else it is one tick away.
    assert ("ranking_zeroshot" in [c.key for c in app.checkbox]) != zero_shot_best
    # The verdict beside each ranking carries the number of the performance page.
    shown = [
        float(r)
        for box in (*app.success, *app.warning, *app.error)
        for r in re.findall(r"within-drug r = ([+-]\d\.\d\d)", box.value)
    ]
    trainings = sorted(  # best evidence first, left to right
        ["scratch", "finetuned"] + (["zeroshot"] if zero_shot_best else []), key=lambda k: -scores[(best, k)]
    )
    assert sorted(shown) == sorted(round(scores[(best, k)], 2) for k in trainings)
    # ± z is on screen for the trained models, withheld (no spread) for the zero-shot one.
    for frame, training in zip(app.dataframe, trainings):
        assert frame.value["± z"].isna().all() == (training == "zeroshot")


def test_the_readme_states_the_shipped_models_numbers_as_their_bundles_do() -> None:
    """The README's table of shipped models carries each bundle's stored paper score and MSE, and the within-drug r
    and permutation p of bundle_evidence.csv (the numbers every page and the HTML report show), rounded as the
    README writes them: 3 decimals, p to 2. Columns after the MSE (external evidence, verdict) are free text."""
    readme = (REPO_ROOT / "README.md").read_text()
    stored = pd.read_csv(COMMITTED / "benchmark" / EVIDENCE_FILE).set_index("bundle")
    rows = {
        match[0]: match[1:]
        for match in re.findall(
            r"^\| (\w+) scratch / fine-tuned / zero-shot \| ([^|]+) \| ([^|]+\(p = [^|]+) \| ([^|]+) \|(?: [^|]+ \|)*$",
            readme,
            re.M,
        )
    }
    assert set(rows) == set(ARCHITECTURES.values())
    for architecture, label in ARCHITECTURES.items():
        paper, evidence_cells, mse = (cell.split(" / ") for cell in rows[label])
        for position, training in enumerate(("scratch", "finetuned", "zeroshot")):
            name = f"colorectal_{architecture}_{training}"
            benchmark = (
                pd.read_csv(COMMITTED / name / "benchmark.csv").set_index("model").loc[f"{architecture}_{training}"]
            )
            assert paper[position].strip() == f"{benchmark['paper_precision_oncology']:.3f}"
            assert mse[position].strip() == f"{benchmark['mse']:.3f}"
            r, p = re.fullmatch(r"(-?\d\.\d+) \(p = (\d\.\d+)\)", evidence_cells[position].strip()).groups()
            assert r == f"{stored.loc[name, 'within_drug']:.3f}" and p == f"{stored.loc[name, 'p_value']:.2f}"
