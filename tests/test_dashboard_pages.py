"""Every dashboard page, run headless by Streamlit's AppTest against tiny real bundles.

Each test drives the app as a user would (switch page, upload a file, click) and checks the content
against the library's own numbers: one ranking row per bundle drug, ranks 1..N by z-score, the
"no better than naive" flags from ``per_drug_reliability``, attributions and pathways recomputed directly.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dashboard_fixtures import APP, bad_response_table, organoid_csv, plotly_numbers, shown_ranking
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT
from core.data.registry import load_cohort
from core.evaluation.cohort_scores import per_drug_reliability, scored_table
from core.evaluation.evidence import evidence
from core.evaluation.metrics import METRICS, within_drug_fold
from core.evaluation.performance import DETAIL_SCORES, HEADLINE_SCORES, NAIVE_LABELS
from core.explain.bundle_attributions import organoid_attributions, pathway_enrichment, reference_attributions
from core.explain.enrichment import ranked_enrichment
from core.inference.bundle import load_bundle
from core.usecases.organoid_figures import z_score_scatter
from core.usecases.organoid_report import ReportedModel, organoid_report_html
from core.usecases.predict import rank_drugs
from core.usecases.ranking import (
    annotate_ranking,
    drug_reliability,
    organoid_ranking,
    ranking_agreement,
    without_spread,
)
from core.usecases.ranking_table import (
    TIED_WITH_FIRST,
    TIED_WITH_NEIGHBOUR,
    display_table,
    highlighted_top,
    outside_assay_range,
    ranking_columns,
    reference_sentence,
    tie_marks,
)

TIMEOUT = 180
N_DRUGS = 8
SENTENCE = (
    "Negative z-score = predicted more sensitive than the average organoid of the reference cohort, "
    "the 19 colorectal cancer organoids (van de Wetering 2015), from their cross-validated predictions."
)


def _best_training(models: Path) -> str:
    """The tiny bundle with the highest headline within-drug r: the model genes and pathways open on."""
    scores = {
        training: within_drug_fold(
            scored_table(load_bundle(models / f"colorectal_tdnn_{training}").reference_predictions)
        )
        for training in ("scratch", "finetuned", "zeroshot")
    }
    return max(scores, key=scores.get)


def _top_drug(bundle, expression: pd.DataFrame) -> str:
    """The drug the organoid in ``expression`` is ranked first for (as the ranking page ranks it)."""
    return organoid_ranking(bundle, expression)["drug"].iloc[0]


def _app(page: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    return app.switch_page(page).run()


def _text(app: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(app, kind)
    ]
    return "\n".join(str(p) for p in parts)


@pytest.fixture(scope="module")
def upload_bytes(tmp_path_factory) -> bytes:
    return organoid_csv(tmp_path_factory.mktemp("upload") / "two_organoids.csv", samples=2).read_bytes()


@pytest.fixture
def uploaded(models_env, upload_bytes) -> AppTest:
    """The app after uploading two organoids (P10, P11) on the Upload & QC page."""
    app = _app("views/upload.py")
    app.file_uploader(key="upload_file").set_value(("two_organoids.csv", upload_bytes, "text/csv")).run()
    assert not app.exception
    return app


def test_upload_shows_the_qc_report_and_keeps_the_profile_in_the_session(uploaded: AppTest) -> None:
    metrics = {m.label: m.value for m in uploaded.metric}
    assert metrics["Samples found"] == "2"
    assert metrics["Scale detected"] == "log2"
    assert metrics["Panel coverage"] == "100.0%"
    profile_report = uploaded.session_state["profile"].check
    assert metrics["Genes mapped"] == f"{profile_report.n_mapped / profile_report.n_identifiers:.0%}"
    assert all(len(value) <= 8 for value in metrics.values())  # short enough for a tile: nothing cut off
    text = _text(uploaded)
    assert "Quality control: two_organoids.csv" in text
    assert "ComBat with the parameters stored in the model bundle" in text
    assert "Samples:** P10, P11" in text
    # Both are reference organoids' own profiles: said, with what it means for their rankings.
    assert "sample **P10** is identical to reference organoid **P10**; sample **P11** is identical to" in text
    assert "its z-scores compare it with itself among the others" in text
    assert list(uploaded.session_state["profile"].expression.index) == ["P10", "P11"]
    # The sample picker for later pages lives in the sidebar and offers both organoids.
    assert uploaded.sidebar.selectbox(key="sample").options == ["P10", "P11"]
    coverage = uploaded.dataframe[0].value
    assert list(coverage["sample"]) == ["P10", "P11"] and (coverage.iloc[:, 1:] == 1.0).all().all()
    # Two reference organoids: too few to align by default, read as they are, and both look like the reference.
    assert uploaded.radio(key="upload_same_lab").value.startswith("No")
    assert "Each profile is read on its own" in text
    verdicts = uploaded.dataframe[1].value
    assert list(verdicts["verdict"]) == ["in range", "in range"] and (verdicts["lab/platform shift"] < 2).all()


def test_another_labs_organoids_are_flagged_and_aligned_as_a_cohort(models_env) -> None:
    """Eight reference organoids with a simulated lab shift at half the size of GDSC's difference from the organoids
    (at full size some values leave the range of a log2 array and the upload is refused as mixed scales):
    read one by one, each is out of range with the advice to upload it with its lab's cohort and the ranking says so
    in red without highlighting; aligned as one cohort (the default for eight), all are in range."""
    from core.labshift.reference import load_reference_profile
    from core.labshift.simulate import ShiftSize, shift_profiles

    reference = load_reference_profile(models_env, "colorectal")
    organoids = load_cohort("colorectal").expression.iloc[:8]
    lab = shift_profiles(organoids, ShiftSize(2.5, 0.67), 0.5, np.random.default_rng(0))
    app = _app("views/upload.py")
    app.file_uploader(key="upload_file").set_value(("other_lab.csv", lab.T.to_csv().encode(), "text/csv")).run()
    assert not app.exception and app.radio(key="upload_same_lab").value.startswith("Yes")
    assert "aligned as one lab's cohort" in _text(app) and not app.error
    assert "identical to reference organoid" not in _text(app)  # shifted by another lab: not the same profiles
    assert app.session_state["prepared_profiles"].out_of_range() == []

    app.radio(key="upload_same_lab").set_value(app.radio(key="upload_same_lab").options[1]).run()
    assert "8 of 8 profile(s) out of range" in app.error[0].value
    assert "other organoids from your lab" in _text(app)
    app.switch_page("views/ranking.py").run()
    assert not app.exception
    assert any("Out of range" in error.value for error in app.error)
    assert reference.limits["shift_score"] == 2.0


def test_a_wide_export_of_linear_values_loads_on_the_page(models_env) -> None:
    """Genes as columns, one line per sample longer than Python's csv field limit (131,072 characters), linear
    values: a real export layout that was refused with "field larger than field limit"."""
    linear = 2 ** load_cohort("colorectal").expression.loc[["P10", "P11"]]
    data = linear.to_csv(index_label="sample", float_format="%.8f").encode()
    assert min(len(line) for line in data.splitlines()[1:]) > 131_072  # each sample's line
    app = _app("views/upload.py")
    app.file_uploader(key="upload_file").set_value(("wide_linear.csv", data, "text/csv")).run()
    assert not app.exception and not app.error
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Samples found"] == "2" and metrics["Panel coverage"] == "100.0%"
    assert "log2(x + 1)" in _text(app)
    assert list(app.session_state["profile"].expression.index) == ["P10", "P11"]


def test_a_response_table_is_refused_in_plain_language(models_env, tmp_path: Path) -> None:
    app = _app("views/upload.py")
    data = bad_response_table(tmp_path / "screen.csv").read_bytes()
    app.file_uploader(key="upload_file").set_value(("screen.csv", data, "text/csv")).run()
    assert not app.exception
    assert len(app.error) == 1
    message = app.error[0].value
    assert message.startswith("**This file cannot be used.**") and "drug-response table" in message
    assert "Traceback" not in message
    assert "profile" not in app.session_state


def test_an_image_is_refused_in_plain_language(models_env) -> None:
    app = _app("views/upload.py")
    app.file_uploader(key="upload_file").set_value(("scan.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "text/csv")).run()
    assert not app.exception
    assert "is a PNG image, not an expression table" in app.error[0].value


@pytest.mark.parametrize(
    "name, data, reason",
    [
        (
            "notes.json",
            b'{"sample": "P10", "genes": {"TP53": 7.1, "EGFR": 5.2}}',
            "The file is JSON, not an expression table",
        ),
        (
            "paper.pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 4,
            "The file is a PDF document, not an expression table",
        ),
    ],
)
def test_other_file_types_get_the_reason_on_the_page(models_env, name: str, data: bytes, reason: str) -> None:
    """The uploader takes any file, so the reason is read on the page, not in a red chip's tooltip."""
    app = _app("views/upload.py")
    app.file_uploader(key="upload_file").set_value((name, data, "application/octet-stream")).run()
    assert not app.exception
    assert len(app.error) == 1 and reason in app.error[0].value


def test_demo_uses_a_reference_organoid_like_an_upload(models_env) -> None:
    app = _app("views/upload.py")
    app.radio(key="upload_source").set_value("Use a reference organoid as a demo").run()
    assert "part of the reference cohort" in _text(app)
    app.multiselect(key="demo_samples").set_value(["P18", "P19a"]).run()
    app.button[[b.label for b in app.button].index("Use as demo profile")].click().run()
    assert not app.exception
    assert list(app.session_state["profile"].expression.index) == ["P18", "P19a"]
    assert {m.label: m.value for m in app.metric}["Samples found"] == "2"


def test_ranking_tables_match_the_library(uploaded: AppTest, tiny_models_dir: Path) -> None:
    app = uploaded.switch_page("views/ranking.py").run()
    assert not app.exception
    assert SENTENCE in _text(app)
    # Best evidence first, left to right; the zero-shot ranking joins from the start (no checkbox) exactly when its
    # within-drug evidence is the best of the three.
    scores = {
        training: within_drug_fold(
            scored_table(load_bundle(tiny_models_dir / f"colorectal_tdnn_{training}").reference_predictions)
        )
        for training in ("scratch", "finetuned", "zeroshot")
    }
    best = max(scores, key=scores.get)
    order = sorted({"scratch", "finetuned", best}, key=scores.get, reverse=True)
    assert ("ranking_zeroshot" in [c.key for c in app.checkbox]) == (best != "zeroshot")
    assert len(app.dataframe) == len(order)
    verdicts = [e.value for kind in ("success", "warning", "error") for e in getattr(app, kind)]
    assert sum("cross-validated within-drug r = " in v for v in verdicts) == len(order)  # one beside each ranking
    expression = app.session_state["profile"].expression.loc[["P10"]]
    tables = {}
    for training in ("scratch", "finetuned"):
        shown = app.dataframe[order.index(training)].value
        bundle = load_bundle(tiny_models_dir / f"colorectal_tdnn_{training}")
        assert len(shown) == len(bundle.drugs) == N_DRUGS
        assert sorted(shown["drug"]) == sorted(bundle.drugs["drug"])
        assert list(shown["rank"]) == list(range(1, N_DRUGS + 1))
        ranked_by = list(zip(-shown["P(more sensitive)"], shown["z-score"]))
        assert ranked_by == sorted(ranked_by)  # rank 1 = most likely more sensitive, then most negative z
        expected = display_table(annotate_ranking(rank_drugs(bundle, expression), drug_reliability(bundle)))
        pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected, check_dtype=False, atol=1e-6)
        reliability = per_drug_reliability(bundle.reference_predictions).set_index("drug")["r"]
        assert (shown["no better than naive"] == ~(shown["drug"].map(reliability) > 0)).all()
        # Tie marks follow the z ± intervals on screen, and the page counts the drugs tied with rank 1.
        on_screen = shown.rename(columns={"z-score": "z_score", "± z": "z_uncertainty"})
        assert list(shown["tied?"]) == list(tie_marks(on_screen))
        n_tied = int((shown["tied?"] == TIED_WITH_FIRST).sum())
        assert any(
            f"{n_tied} of {N_DRUGS - 1}** drugs below rank 1 cannot be told apart" in c.value for c in app.caption
        )
        tables[training] = expected.rename(columns={"z-score": "z_score"})
    all_coins = sum(bool(t[ranking_columns()["coin"]].all()) for t in tables.values())
    coin_warnings = sum("No better than a coin for every drug" in w.value for w in app.warning)
    assert coin_warnings >= all_coins  # a table of coins says so (the zero-shot table, when shown, may add one)
    agreement = ranking_agreement(tables["scratch"], tables["finetuned"])
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Spearman rank correlation"] == f"{agreement.spearman:.2f}"
    assert metrics["Top-5 overlap"] == f"{agreement.top_overlap} of 5"
    assert app.get("plotly_chart"), "the scratch vs fine-tuned scatter is shown"
    # What a row is judged by comes first in every table and fits, widths summed, in the ~460 px each of two
    # tables side by side gets at 1440 px; models are named, not their bundle folders.
    headers = ranking_columns()
    judged = ["rank", "drug", headers["p_more_sensitive"], "z-score", headers["coin"]]
    for table in app.dataframe:
        widths = json.loads(table.proto.columns)
        assert list(table.proto.column_order[:5]) == judged
        assert sum(widths[column]["width"] for column in judged) <= 400
        assert widths["drug"]["width"] >= 7.5 * 22  # "INCB-18424/Ruxolitinib", the longest name, uncut
    text = _text(app)
    assert "colorectal_tdnn" not in text, text[text.find("colorectal_tdnn") - 300 : text.find("colorectal_tdnn") + 50]
    assert "fold models" not in text
    assert [b.label for b in app.get("download_button")] == ["Download CSV"] * len(order)

    if best != "zeroshot":
        app.checkbox(key="ranking_zeroshot").check().run()
        order.append("zeroshot")
    assert len(app.dataframe) == 3 and len(app.dataframe[order.index("zeroshot")].value) == N_DRUGS
    zero_shot = app.dataframe[order.index("zeroshot")].value  # one network: no ensemble spread, not a misleading ±0
    assert zero_shot["± AUC"].isna().all() and zero_shot["± z"].isna().all()
    assert (zero_shot["tied?"] == "").all()  # no spread known: no tie claimed either way
    assert any("No ensemble spread" in c.value for c in app.caption)

    app.button(key="prepare_report").click().run()
    assert not app.exception
    assert "Download HTML report" in [b.label for b in app.get("download_button")]
    check = app.session_state["report_html"][-1]
    assert "P10" in check
    first = app.dataframe[0].value.sort_values("rank")  # the genes come from the model shown first (best evidence)
    explained = list(dict.fromkeys([*first["drug"].head(3), app.selectbox(key="ranking_drug").value]))
    assert [d for d in re.findall(r"<h2>Genes behind the prediction for (.+?)</h2>", check)] == explained
    assert check.count("Drug-specific: they split") == len(explained)
    for training in ("scratch", "finetuned", "zeroshot"):  # each model's overall score and p, as on the page
        found = evidence(load_bundle(tiny_models_dir / f"colorectal_tdnn_{training}").reference_predictions)
        assert f"<td>{found.within_drug:+.2f}</td><td>{found.p_value:.2f}</td>" in check


def test_ranking_follows_the_sample_picker(uploaded: AppTest) -> None:
    uploaded.sidebar.selectbox(key="sample").set_value("P11").run()
    app = uploaded.switch_page("views/ranking.py").run()
    assert "Organoid **P11**" in _text(app)


def test_a_sample_with_missing_genes_is_ranked_with_them_imputed(
    models_env, tiny_models_dir: Path, tmp_path: Path
) -> None:
    bundle = load_bundle(tiny_models_dir / "colorectal_tdnn_finetuned")
    blank = bundle.genes[:30]
    data = organoid_csv(tmp_path / "patchy.csv", samples=2, blank_in_last=blank).read_bytes()
    app = _app("views/upload.py")
    app.file_uploader(key="upload_file").set_value(("patchy.csv", data, "text/csv")).run()
    assert not app.exception
    app.sidebar.selectbox(key="sample").set_value("P11").run()
    app = app.switch_page("views/ranking.py").run()
    assert not app.exception
    expected = rank_drugs(bundle, load_cohort("colorectal").expression.loc[["P11"]].drop(columns=blank))
    np.testing.assert_allclose(shown_ranking(app, "finetuned")["z-score"], expected["z_score"], rtol=1e-5)
    app = app.switch_page("views/genes.py").run()
    assert not app.exception
    assert "30 panel genes were not measured in this sample" in _text(app)


def test_pages_point_to_the_upload_when_there_is_no_profile(models_env) -> None:
    app = _app("views/ranking.py")
    assert not app.exception
    assert "No organoid profile yet" in app.info[0].value


def test_genes_page_shows_the_organoid_and_the_reference_cohort(uploaded: AppTest, tiny_models_dir: Path) -> None:
    app = uploaded.switch_page("views/genes.py").run()
    assert not app.exception
    # Opened from the sidebar: the model with the best evidence, on the drug P10 is predicted most sensitive to.
    training = app.selectbox(key="genes_training").value
    assert training == _best_training(tiny_models_dir)
    bundle = load_bundle(tiny_models_dir / f"colorectal_tdnn_{training}")
    organoid_expression = app.session_state["profile"].expression.loc[["P10"]]
    drug = app.selectbox(key="genes_drug").value
    assert drug == _top_drug(bundle, organoid_expression)
    verdicts = [e.value for kind in ("success", "warning", "error") for e in getattr(app, kind)]
    assert sum("cross-validated within-drug r = " in v for v in verdicts) == 1  # the model's verdict, as on ranking
    assert app.radio(key="genes_view").value == "drug"  # drug-specific attributions by default
    text = _text(app)
    assert "Organoid P10" in text and "Reference cohort (19 organoids)" in text
    assert "pushes the predicted AUC up = toward resistance" in text
    assert "minus its average deviation over all drugs" in text
    ranked = organoid_ranking(bundle, organoid_expression).set_index("drug").loc[drug]  # as the ranking shows it
    assert f"P(more sensitive than the median reference organoid) = {ranked['p_more_sensitive']:.2f}" in text
    assert f"rank {int(ranked['rank'])} of {N_DRUGS}, z = {ranked['z_score']:+.2f}" in text
    assert len(app.get("plotly_chart")) == 2
    cohort = load_cohort("colorectal").expression
    for view in ("drug", "absolute", "patient"):
        app.radio(key="genes_view").set_value(view).run()
        assert not app.exception
        organoid = organoid_attributions(bundle, organoid_expression, drug, view, cohort)
        shown = app.dataframe[0].value
        assert len(shown) == 20  # the slider's default
        assert list(shown["gene"]) == list(organoid["gene"].head(20))
        np.testing.assert_allclose(shown["attribution"], organoid["attribution"].head(20), rtol=1e-4, atol=1e-9)
        reference = reference_attributions(bundle, cohort, drug, view)
        assert list(app.dataframe[1].value["gene"]) == list(reference["gene"].head(20))

    app.slider(key="genes_top_n").set_value(10).run()
    assert len(app.dataframe[0].value) == 10
    assert app.switch_page("views/pathways.py").run().radio(key="pathways_view").value == "patient"  # remembered


def test_genes_and_pathways_open_on_the_drug_and_model_of_the_ranking_page(
    uploaded: AppTest, tiny_models_dir: Path
) -> None:
    app = uploaded.switch_page("views/ranking.py").run()
    explained = app.selectbox(key="ranking_drug").value
    best = _best_training(tiny_models_dir)  # the model the ranking shows first (best evidence first)
    for page, prefix in (("views/genes.py", "genes"), ("views/pathways.py", "pathways")):
        app = app.switch_page(page).run()
        assert not app.exception
        assert app.selectbox(key=f"{prefix}_drug").value == explained, page
        assert app.selectbox(key=f"{prefix}_training").value == best, page


def test_genes_page_without_a_profile_shows_the_reference_cohort(models_env) -> None:
    app = _app("views/genes.py")
    assert not app.exception
    assert "to see this organoid's genes" in app.info[0].value
    assert len(app.get("plotly_chart")) == 1


def test_pathways_page_ranked_enrichment_by_default(uploaded: AppTest, tiny_models_dir: Path) -> None:
    app = uploaded.switch_page("views/pathways.py").run()
    assert not app.exception
    assert app.radio(key="pathways_method").value == "ranked"
    assert app.radio(key="pathways_view").value == "drug"
    training = app.selectbox(key="pathways_training").value
    assert training == _best_training(tiny_models_dir)
    bundle = load_bundle(tiny_models_dir / f"colorectal_tdnn_{training}")
    drug = app.selectbox(key="pathways_drug").value
    assert drug == _top_drug(bundle, app.session_state["profile"].expression.loc[["P10"]])
    ranking = organoid_attributions(
        bundle, app.session_state["profile"].expression.loc[["P10"]], drug, "drug", load_cohort("colorectal").expression
    )
    app.selectbox(key="pathways_collection").set_value("Hallmark").run()
    expected = ranked_enrichment(ranking.set_index("gene")["attribution"], "Hallmark")
    table = app.dataframe[0].value
    assert list(table["term"]) == list(expected["term"])
    np.testing.assert_allclose(table["nes"], expected["nes"], rtol=1e-6)
    passing = expected["fdr"].round(3) < 0.25  # judged on q as the table shows it: 0.2496 (0.250) does not pass
    if passing.any():
        assert any(f"{int(passing.sum())} Hallmark pathway(s) at FDR < 0.25" in box.value for box in app.success)
    else:
        assert "No Hallmark pathway reaches FDR < 0.25" in app.info[0].value


def test_pathways_page_over_representation_thresholds(uploaded: AppTest, tiny_models_dir: Path) -> None:
    app = uploaded.switch_page("views/pathways.py").run()
    app.radio(key="pathways_method").set_value("ora").run()
    assert not app.exception
    assert app.select_slider(key="pathways_max_p").value == 0.001
    assert app.number_input(key="pathways_min_overlap").value == 10
    drug = app.selectbox(key="pathways_drug").value
    bundle = load_bundle(tiny_models_dir / f"colorectal_tdnn_{app.selectbox(key='pathways_training').value}")
    ranking = organoid_attributions(
        bundle, app.session_state["profile"].expression.loc[["P10"]], drug, "drug", load_cohort("colorectal").expression
    )
    strict = pathway_enrichment(ranking, bundle, "Reactome", 200, 0.001, 10)
    if strict.empty:
        assert "No Reactome pathway passes" in app.info[0].value
        assert "adjusted p < 0.001, at least 10 of the top 200" in app.info[0].value
    else:
        assert len(app.dataframe[0].value) == len(strict)

    app.select_slider(key="pathways_max_p").set_value(1.0).run()
    app.number_input(key="pathways_min_overlap").set_value(1).run()
    app.selectbox(key="pathways_collection").set_value("Hallmark").run()
    assert not app.exception
    relaxed = pathway_enrichment(ranking, bundle, "Hallmark", 200, float(np.nextafter(1.0, 2.0)), 1)
    assert len(relaxed) > 0
    assert f"No filter: every Hallmark pathway with a hit ({len(relaxed)})" in app.info[0].value
    assert not any("pass" in box.value for box in app.success)  # no filter is not a result
    table = app.dataframe[0].value
    assert list(table["term"]) == list(relaxed["term"])
    assert list(table["genes"]) == [g.replace(";", ", ") for g in relaxed["genes"]]
    headers = json.loads(app.dataframe[0].proto.columns)  # headers whole, the genes column wide enough to read
    assert headers["overlap"]["label"] == "in top genes" and headers["overlap"]["width"] >= 7.5 * 12
    assert headers["genes"]["width"] == "large"
    figure = app.get("plotly_chart")[0].proto.spec
    assert "odds ratio (effect size)" in figure

    app.selectbox(key="pathways_collection").set_value("KEGG").run()
    # the model's evidence verdict may come first (the tiny bundles' evidence differs from build to build)
    assert any("academic, non-commercial use only" in warning.value for warning in app.warning)


def test_performance_page(models_env, tiny_models_dir: Path) -> None:
    app = _app("views/performance.py")
    assert not app.exception
    evidence_shown = app.dataframe[0].value.set_index("training")  # the evidence comes first
    for training, label in (("scratch", "from scratch"), ("finetuned", "fine-tuned"), ("zeroshot", "zero-shot")):
        reference = load_bundle(tiny_models_dir / f"colorectal_tdnn_{training}").reference_predictions
        assert evidence_shown.loc[label, "within-drug r"] == pytest.approx(within_drug_fold(scored_table(reference)))
        assert 0 < evidence_shown.loc[label, "permutation p"] <= 1
    ordering = int((evidence_shown["verdict"] == "Orders organoids within a drug better than chance").sum())
    assert ("None of these 3 models orders" in _text(app)) == (ordering == 0)
    table = app.dataframe[1].value  # every row shown, the naive baselines last
    assert list(table["training"][:3]) == ["from scratch", "fine-tuned", "zero-shot"]
    assert list(table["training"][3:]) == list(NAIVE_LABELS.values())
    # One number per model: the benchmark table's within-drug r is the evidence above, not a second score.
    for label, r in evidence_shown["within-drug r"].items():
        assert table.loc[table["training"] == label, "within-drug r"].item() == pytest.approx(r)
    assert (table.loc[table["architecture"] == "-", "within-drug r"] == 0).all()  # naive baselines: 0 by construction
    details = app.dataframe[2].value  # the older pooled score sits in the details
    for shown, keys in ((table, HEADLINE_SCORES), (details, DETAIL_SCORES)):  # every score under its registry label
        assert list(shown.columns) == ["architecture", "training", *(METRICS[key].label for key in keys)]
    finetuned = load_bundle(tiny_models_dir / "colorectal_tdnn_finetuned").benchmark.iloc[0]
    # The paper score is undefined for the per-organoid mean (constant within an organoid): said so, not "None".
    paper = table.set_index("training")[METRICS["paper_precision_oncology"].label]
    assert paper[NAIVE_LABELS["naive_sample_mean"]] == "undefined"
    # A column holding "undefined" is text rounded by the page to 3 decimals: compared at the same rounding, since
    # a tolerance of half a unit fails whenever a tiny bundle's score lands on a half-way point (0.3665 -> 0.366).
    assert paper["fine-tuned"] == f"{finetuned['paper_precision_oncology']:.3f}"
    older = "within-drug r, pooled residuals (older)"
    assert details.loc[details["training"] == "fine-tuned", older].item() == pytest.approx(
        finetuned["within_drug_pearson"]
    )
    assert "All scores, and the older within-drug score" in [e.label for e in app.expander]
    text = _text(app)
    assert "holds no benchmark across training-set sizes" in text
    assert not re.search(r"python -m|PDO_MODELS_DIR|colorectal_tdnn_|fold models", text)  # nothing for developers
    # Every naive baseline is drawn in the bar chart, and the per-drug errors come compact and in full.
    bars = {trace["name"] for trace in json.loads(app.get("plotly_chart")[0].proto.spec)["data"]}
    assert set(NAIVE_LABELS.values()) <= bars
    assert len(app.get("plotly_chart")) == 3
    assert f"Every drug ({N_DRUGS} boxes)" in [e.label for e in app.expander]


def test_performance_page_shows_the_benchmark_summary_when_built(
    tiny_models_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    for bundle in tiny_models_dir.iterdir():
        (tmp_path / bundle.name).symlink_to(bundle, target_is_directory=True)
    # An experimental bundle under another name is not offered (nor mistaken for the zero-shot one).
    (tmp_path / "panel-experiment_tdnn_zeroshot").symlink_to(tiny_models_dir / "colorectal_tdnn_zeroshot")
    (tmp_path / "benchmark").mkdir()
    pd.DataFrame(
        {
            "dataset": ["colorectal"] * 5 + ["pancreas"],
            "split": ["precision_oncology"] * 6,
            "n_finetune": ["0", "10", "all", None, "all", "10000"],
            "model": [
                "tdnn_zeroshot",
                "tdnn_finetuned",
                "tdnn_finetuned",
                "naive_drug_mean",
                "rf_per_drug",
                "tDNN_pretrain",
            ],
            "within_drug_pearson": [0.1, 0.05, 0.2, 0.0, 0.1, 0.12],
            "paper_precision_oncology": [0.4, 0.5, 0.7, 0.74, 0.7, 0.9],
            "mse": [0.03, 0.04, 0.02, 0.014, 0.015, 0.01],
        }
    ).to_csv(tmp_path / "benchmark" / "summary.csv", index=False)
    monkeypatch.setenv("PDO_MODELS_DIR", str(tmp_path))
    app = _app("views/performance.py")
    assert not app.exception
    traces = {trace["name"]: trace for trace in json.loads(app.get("plotly_chart")[-1].proto.spec)["data"]}
    # classical baselines and other cohorts are not curves; the stars are the shipped bundles
    assert set(traces) == {"fine-tuned", "zero-shot", "shipped model (star)"}
    assert plotly_numbers(traces["zero-shot"]["x"]) == [
        5.0
    ]  # 0 pairs, drawn left of the smallest size (10) on the log axis
    app.selectbox(key="performance_dataset").select("pancreas").run()
    assert list(app.dataframe[-1].value["model"]) == ["tDNN, pre-trained, fine-tuned"]  # plain names
    assert "holds no benchmark" not in _text(app) and len(app.get("plotly_chart")) == 4
    assert list(app.dataframe[1].value["training"][:4]) == [
        "from scratch",
        "fine-tuned",
        "zero-shot",
        "naive: per-drug mean",
    ]
    assert not any("How much one training run varies" in e.label for e in app.expander)
    # Once training_scripts.studies.seed_noise has run, the page says how much one training run varies.
    shutil.copy(REPO_ROOT / "trained_models" / "benchmark" / "seed_spread.csv", tmp_path / "benchmark")
    app = _app("views/performance.py")
    labels = [e.label for e in app.expander]
    spread = pd.read_csv(tmp_path / "benchmark" / "seed_spread.csv")
    single = spread[(spread["score"] == "within_drug_pearson") & ~spread["model"].str.contains(" - ")]
    span = f"{(single['max'] - single['min']).max():.2f}"
    heading = (
        f"How much one training run varies: over five seeds, one model's within-drug r spans up to {span} "
        f"(SD {single['sd'].min():.2f} to {single['sd'].max():.2f}, by model)"
    )
    assert heading in labels, labels


def test_about_page_shows_every_manifest_and_the_limitations(models_env) -> None:
    app = _app("views/about.py")
    assert not app.exception
    assert len(app.json) == 3
    shown = [json.loads(j.value) for j in app.json]
    assert {manifest["training"] for manifest in shown} == {"scratch", "finetuned", "zeroshot"}
    assert all("genes" not in manifest and "files" not in manifest and manifest["n_genes"] == 655 for manifest in shown)
    limitations = app.error[0].value
    for phrase in ("Research use only", "not a medical device", "19 organoids", "5,757", "655", "ComBat"):
        assert phrase in limitations
    assert len(app.dataframe[0].value) == 3


def test_an_altered_bundle_is_reported_not_crashed(
    tiny_models_dir: Path, tmp_path: Path, monkeypatch, upload_bytes: bytes
) -> None:
    for bundle in tiny_models_dir.iterdir():
        shutil.copytree(bundle, tmp_path / bundle.name)
    drugs = tmp_path / "colorectal_tdnn_scratch" / "drugs.csv"
    drugs.write_text(drugs.read_text().replace(",", ";", 1))
    monkeypatch.setenv("PDO_MODELS_DIR", str(tmp_path))
    app = _app("views/upload.py")
    assert any("tDNN from scratch" in w.value for w in app.sidebar.warning)  # the other bundles still serve the QC
    app.file_uploader(key="upload_file").set_value(("two.csv", upload_bytes, "text/csv")).run()
    assert {m.label: m.value for m in app.metric}["Samples found"] == "2"
    app = app.switch_page("views/ranking.py").run()
    assert not app.exception
    assert any("tDNN from scratch" in w.value for w in app.main.warning)  # named beside the models that still rank
    assert len(app.dataframe) >= 1


def test_no_bundles_gives_a_plain_message(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PDO_MODELS_DIR", str(tmp_path))
    for page in ("views/performance.py", "views/about.py", "views/genes.py"):
        app = _app(page)
        assert not app.exception
        message = next(w.value for w in app.warning if "No drug-response models are installed" in w.value)
        assert str(tmp_path) not in message and "PDO_MODELS_DIR" not in message, page  # for the operator's log


def test_html_report_is_self_contained(tiny_models_dir: Path) -> None:
    expression = load_cohort("colorectal").expression.loc[["P10"]]
    models = []
    for training, label in (("scratch", "From scratch"), ("finetuned", "Fine-tuned")):
        bundle = load_bundle(tiny_models_dir / f"colorectal_tdnn_{training}")
        reliability = drug_reliability(bundle)
        if training == "scratch":  # evidence on every drug, so its sensitive top drugs are highlighted
            reliability = reliability.assign(z_mean=np.arctanh(0.5), z_sd=0.05, better_than_coin=True)
        ranking = annotate_ranking(rank_drugs(bundle, expression), reliability)
        models.append(ReportedModel(label, bundle.manifest, None, ranking))
    scatter = z_score_scatter(models[0].ranking, models[1].ranking, "from scratch", "fine-tuned")
    html = organoid_report_html("P10 <script>", models, n_reference=19, scatter=scatter)
    assert "P10 &lt;script&gt;" in html and "<script>alert" not in html
    assert SENTENCE in html
    top = [highlighted_top(model.ranking, 5) for model in models]
    assert top[0].sum() == ((models[0].ranking["rank"] <= 5) & (models[0].ranking["z_score"] < 0)).sum() > 0
    assert html.count('<tr class="top">') == sum(t.sum() for t in top)
    assert all(name in html for name in ("colorectal_tdnn_scratch", "colorectal_tdnn_finetuned"))
    # plotly.js is inline (no <script src=...>), so the report opens offline.
    assert "Plotly.newPlot" in html and not re.search(r"<script[^>]*\bsrc=", html)
    assert "<th>predicted AUC</th>" in html
    # A bundle of an ln IC50 screen: the report's headers say so.
    in_ic50 = organoid_report_html("P10", models, n_reference=19, unit="ln IC50")
    assert "<th>predicted ln IC50</th><th>± ln IC50</th>" in in_ic50 and "AUC" not in in_ic50


def test_predictions_outside_the_auc_range_are_named_and_spread_can_be_withheld() -> None:
    ranking = pd.DataFrame(
        {
            "drug": ["a", "b", "c"],
            "rank": [2, 1, 3],
            "predicted": [1.2, -0.1, 0.5],
            "uncertainty": [0.1, 0.2, 0.3],
            "z_uncertainty": [1.0, 1.0, 1.0],
        }
    )
    assert outside_assay_range(ranking, "AUC") == ["b", "a"]
    assert outside_assay_range(ranking, "ln IC50") == []  # no bounded range
    withheld = without_spread(ranking)
    assert withheld["uncertainty"].isna().all() and withheld["z_uncertainty"].isna().all()
    assert withheld["predicted"].equals(ranking["predicted"])


def test_tie_marks_say_which_ranks_cannot_be_told_apart() -> None:
    ranking = pd.DataFrame(
        {"rank": [1, 2, 3, 4, 5], "z_score": [-1.0, -0.9, 0.5, 0.6, 3.0], "z_uncertainty": [0.2, 0.2, 0.1, 0.1, 0.1]}
    )
    # rank 2 overlaps rank 1; ranks 3 and 4 overlap each other only; rank 5 stands apart.
    assert list(tie_marks(ranking)) == ["", TIED_WITH_FIRST, TIED_WITH_NEIGHBOUR, TIED_WITH_NEIGHBOUR, ""]
    assert list(tie_marks(without_spread(ranking.assign(predicted=0.5, uncertainty=0.1)))) == [""] * 5
    report_table = display_table(ranking.assign(drug=list("abcde")))
    assert list(report_table["tied?"]) == list(tie_marks(ranking))  # the CSV and the report carry the same marks


def _crowded_rankings() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two models' rankings of 60 drugs whose top 5 (long names among them) sit within a few hundredths of a z of
    each other, the others spread around them, as in the ranking of organoid P10 (SB 216763 over PLX4720)."""
    rng = np.random.default_rng(3)
    names = ["SB 216763", "PLX4720", "GSK1120212/Trametinib", "(5Z)-7-Oxozeaenol", "5-Fluorouracil", "Nilotinib"]
    names += ["Afatinib", "Dabrafenib", "Selumetinib", "Refametinib"] + [f"drug {i}" for i in range(50)]
    others = rng.uniform(-0.3, 2.0, (2, 50))
    z_a = np.concatenate([-1.5 + rng.normal(0, 0.03, 5), -0.6 + rng.normal(0, 0.03, 5), others[0]])
    z_b = np.concatenate([-1.4 + rng.normal(0, 0.03, 5), -1.8 + rng.normal(0, 0.03, 5), others[1]])
    return tuple(
        pd.DataFrame({"drug": names, "z_score": z, "rank": pd.Series(z).rank(method="first").astype(int)})
        for z in (z_a, z_b)
    )


def test_scatter_labels_neither_overlap_nor_cover_dots_when_crowded() -> None:
    """Label boxes estimated from the drawn figure alone (its size, margins, axis ranges and each annotation's
    offset; text about 0.6 em per character, 1.2 em high) do not overlap each other, cover a dot or leave the
    plot."""
    figure = z_score_scatter(*_crowded_rankings(), "from scratch", "fine-tuned")
    layout = figure.layout
    width = layout.width - layout.margin.l - layout.margin.r
    height = layout.height - layout.margin.t - layout.margin.b
    (x0, x1), (y0, y1) = layout.xaxis.range, layout.yaxis.range

    def pixels(x, y):
        return (np.asarray(x) - x0) / (x1 - x0) * width, (y1 - np.asarray(y)) / (y1 - y0) * height

    boxes = []
    for label in layout.annotations:
        x, y = pixels(label.x, label.y)
        half_width, half_height = 0.3 * label.font.size * len(label.text), 0.6 * label.font.size
        boxes.append(
            (
                x + label.ax - half_width,
                y + label.ay - half_height,
                x + label.ax + half_width,
                y + label.ay + half_height,
            )
        )
    assert len(boxes) == 10  # the top 5 of each model, none shared
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= width and 0 <= a[1] and a[3] <= height, layout.annotations[i].text
        for b in boxes[:i]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), layout.annotations[i].text
    dot_x, dot_y = pixels(
        np.concatenate([t.x for t in figure.data if t.mode == "markers"]),
        np.concatenate([t.y for t in figure.data if t.mode == "markers"]),
    )
    for left, top, right, bottom in boxes:
        distance = np.hypot(dot_x - np.clip(dot_x, left, right), dot_y - np.clip(dot_y, top, bottom))
        assert distance.min() >= 5  # the largest dot's radius


def test_a_cohort_named_cohort_is_not_called_cohort_twice() -> None:
    assert "the 12 organoids of the walk lab cohort, " in reference_sentence(12, "walk lab cohort")
    assert "the 12 organoids of the colorectal subset cohort, " in reference_sentence(12, "colorectal subset")
