"""Fine-tuning on a lab's own cohort: the response-table checks, the cohort joined from two uploads, the two
cross-validated bundles, their in-memory zip, the background job, the command line and the dashboard page.

Real data throughout: 12 colorectal organoids (van de Wetering 2015) stand in for a lab's screen, exported as a
lab would (genes-as-rows expression CSV; a long response table with SMILES where the name alone is not in the
GDSC catalogue). The pre-trained model is the tiny zero-shot bundle of ``dashboard_fixtures``; training is real,
with few epochs.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import tempfile
import time
import types
import zipfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from background_work import count_slowly, divide, write_file
from dashboard_fixtures import APP, shown_ranking
from streamlit.testing.v1 import AppTest

from core.data.panels import load_panel
from core.data.registry import load_cohort
from core.evaluation.baselines import NAIVE_BASELINES
from core.evaluation.evidence import GRADE_WORDS, NO_BETTER, evidence
from core.evaluation.metrics import HEADLINE, METRICS
from core.inference.bundle import BundleError, bundle_files, bundles_from_zip_bytes, bundles_to_zip_bytes, load_bundle
from core.models.config import TDNNConfig
from core.training import background
from core.training.fit import TrainingSettings
from core.training.own_cohort import SCORES, beats_the_drug_average, comparison_table, train_own_cohort
from core.training.pretrained import pretrained_from_zeroshot_bundle
from core.upload import UploadError
from core.upload.cohort import UploadedCohort, training_expression_again, validate_cohort_upload
from core.upload.responses import example_response_table, read_response_table
from core.usecases.predict import member_predictions, rank_drugs
from dashboard.restart import NOTICE, SESSION_LOST
from training_scripts.build import finetune_own_cohort

N_ORGANOIDS = 12
OWN_STRUCTURE = "ABT-263"
EXTRA_DRUGS = ["Oxaliplatin", "Gemcitibine"]  # besides the tiny bundles' 8 drugs; the screen spells it so
FAST = TrainingSettings(batch_size=32, max_epochs=3, patience=2)
TINY = TDNNConfig(gene_units=(32, 16, 8), drug_units=(32, 16, 8), head_units=(8, 8, 4))
TIMEOUT = 300


# ---------------------------------------------------------------- a lab's export of its screen


def screen_tables(models: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(expression: genes x organoids, responses: Organoid, Drug, AUC, SMILES) of the first 12 screened
    colorectal organoids and the tiny bundles' drugs plus two; SMILES given for one drug (a lab's own structure,
    used even though GDSC knows the name, and featurised in memory)."""
    colorectal = load_cohort("colorectal")
    drugs = list(pd.read_csv(models / "colorectal_tdnn_finetuned" / "drugs.csv")["drug"]) + EXTRA_DRUGS
    samples = sorted(colorectal.responses["sample"].unique())[:N_ORGANOIDS]
    rows = colorectal.responses[colorectal.responses["sample"].isin(samples) & colorectal.responses["drug"].isin(drugs)]
    responses = pd.DataFrame(
        {
            "Organoid": rows["sample"],
            "Drug": rows["drug"],
            "AUC": rows["value"],
            "SMILES": rows["drug"].map(lambda d: colorectal.drug_smiles[d] if d == OWN_STRUCTURE else ""),
        }
    )
    return colorectal.expression.loc[samples].T.rename_axis("gene"), responses.reset_index(drop=True)


def screen_files(models: Path) -> tuple[bytes, bytes]:
    expression, responses = screen_tables(models)
    return expression.to_csv(float_format="%.4f").encode(), responses.to_csv(index=False).encode()


def _csv(table: pd.DataFrame, **options) -> bytes:
    return table.to_csv(index=False, **options).encode()


def _upload(expression: bytes, responses: bytes, **options) -> UploadedCohort:
    """Both files through the dashboard's checks, for the tDNN panel (the tiny bundles' panel)."""
    return validate_cohort_upload(
        expression,
        "expression.csv",
        responses,
        "responses.csv",
        metric="auc",
        lower_is_sensitive=True,
        panel=load_panel("tdnn"),
        **options,
    )


# ---------------------------------------------------------------- the response table


def test_response_table_reads_common_layouts() -> None:
    # Semicolons and decimal commas (a European Excel export), other header spellings, a replicate.
    text = "Organoid;Compound;ln_IC50\nA;5-FU;1,5\nA;5-FU;2,5\nB;5-FU;-0,25\nA;Gemcitabine;3\n"
    table = read_response_table(text.encode(), "screen.csv", "ln_ic50")
    assert table.columns == {"sample": "Organoid", "drug": "Compound", "value": "ln_IC50"}
    pairs = table.pairs.set_index(["sample", "drug"])["value"]
    assert pairs[("A", "5-FU")] == pytest.approx(2.0) and pairs[("B", "5-FU")] == pytest.approx(-0.25)
    assert len(pairs) == 3 and table.dropped == []
    assert any("given more than once (2 rows" in note and "averaged" in note for note in table.notes)


def test_example_response_table_is_read_back_whole(colorectal) -> None:
    """The template the fine-tune page offers is a real excerpt of the public screen in the layout it reads."""
    example = example_response_table(colorectal)
    table = read_response_table(example, "example_responses.csv", "auc")
    assert table.dropped == [] and table.pairs["sample"].nunique() == 3
    assert table.columns["value"] == "value" and set(table.gdsc_drug_ids) == set(table.pairs["drug"])
    screened = colorectal.responses.set_index(["sample", "drug"])["value"]
    np.testing.assert_allclose(
        table.pairs["value"], screened.loc[list(zip(table.pairs["sample"], table.pairs["drug"]))]
    )


def test_bad_rows_are_dropped_and_listed() -> None:
    table = pd.DataFrame(
        {
            "sample": ["A", "A", "B", "B", "C", "", "C"],
            "drug": ["x", "y", "x", "y", "x", "y", "y"],
            "value": ["0.5", "n.d.", "0.7", "1.7", "", "0.2", "0.4"],
        }
    )
    read = read_response_table(_csv(table), "t.csv", "auc")
    assert sorted(map(tuple, read.pairs[["sample", "drug"]].to_numpy())) == [("A", "x"), ("B", "x"), ("C", "y")]
    dropped = " ".join(read.dropped)
    for phrase in (
        "1 row(s) without a sample or drug name",
        "1 row(s) without a response value",
        "1 row(s) whose value is not a number (e.g. n.d.)",
        "1 row(s) with AUC outside 0 to 1 (e.g. 1.7)",
    ):
        assert phrase in dropped


@pytest.mark.parametrize(
    "metric, data, message",
    [
        (
            "auc",
            b"sample,drug,auc\n" + b"".join(f"S{i},d,{50 + i}\n".encode() for i in range(6)),
            "Most values lie outside 0 to 1, the range of AUC (found 50 to 55). AUC must be the normalised",
        ),
        ("ln_ic50", b"sample,drug,IC50\nA,d,0.5\nB,d,3\n", "seems to hold the IC50 itself, not its natural logarithm"),
        ("ln_ic50", b"sample,drug,log10_ic50\nA,d,0.5\nB,d,3\n", "holds log10 IC50"),
        ("ln_ic50", b"sample,drug,auc\nA,d,0.5\nB,d,0.3\n", "The response column 'auc' does not hold ln IC50"),
        (
            "auc",
            b"sample,drug,AUC rep1,AUC rep2\nA,d,0.5,0.6\n",
            "Several columns could hold the response (AUC rep1, AUC rep2)",
        ),
        ("auc", b"gene,P1,P2,P3,P4\nTP53,1,2,3,4\n", "No column names the samples"),
        ("auc", b"sample,5-FU,Gemcitabine,Oxaliplatin\nA,0.1,0.2,0.3\n", "not the long format needed"),
        ("auc", b"sample,drug,auc\nA,d,high\nB,d,low\nC,d,0.5\n", "Most response values are not numbers"),
        ("auc", b"\x89PNG\r\n\x1a\n" + bytes(64), "The file is a PNG image, not a response table"),
        ("auc", b"", "The file is empty"),
    ],
)
def test_unusable_tables_are_refused_in_plain_language(metric: str, data: bytes, message: str) -> None:
    with pytest.raises(UploadError) as refused:
        read_response_table(data, "table.csv", metric)
    assert message in str(refused.value)
    assert "Traceback" not in str(refused.value)


def test_higher_is_sensitive_is_turned_around() -> None:
    auc = read_response_table(b"sample,drug,value\nA,d,0.2\n", "t.csv", "auc", lower_is_sensitive=False)
    ln_ic50 = read_response_table(b"sample,drug,value\nA,d,2.5\n", "t.csv", "ln_ic50", lower_is_sensitive=False)
    assert auc.pairs["value"].tolist() == pytest.approx([0.8])
    assert ln_ic50.pairs["value"].tolist() == pytest.approx([-2.5])
    assert "AUC was converted to 1 - AUC" in auc.notes[0]


# ---------------------------------------------------------------- the cohort from two uploads


def test_two_uploads_become_a_cohort_and_what_was_left_out_is_listed(tiny_models_dir: Path) -> None:
    expression, responses = screen_tables(tiny_models_dir)
    ghost = pd.DataFrame({"Organoid": ["P99"], "Drug": ["Oxaliplatin"], "AUC": [0.5], "SMILES": [""]})
    unknown = pd.DataFrame({"Organoid": ["P10"], "Drug": ["Unobtainium-7"], "AUC": [0.5], "SMILES": [""]})
    broken = pd.DataFrame({"Organoid": ["P10"], "Drug": ["Mystery-1"], "AUC": [0.5], "SMILES": ["C1CC(("]})
    antibody = pd.DataFrame({"Organoid": ["P10", "P11"], "Drug": "Cetuximab", "AUC": [0.5, 0.6], "SMILES": ""})
    flat = pd.DataFrame(
        {"Organoid": expression.columns[:6], "Drug": "Flatline", "AUC": 0.9, "SMILES": "CC(=O)Oc1ccccc1C(=O)O"}
    )
    table = pd.concat([responses, ghost, unknown, broken, antibody, flat], ignore_index=True)
    uploaded = _upload(expression.to_csv().encode(), _csv(table), label="test lab")
    cohort, check = uploaded.cohort, uploaded.check

    assert sorted(cohort.expression.index) == sorted(expression.columns)
    assert sorted(cohort.drug_smiles) == sorted(set(responses["Drug"]))
    assert len(cohort.usable_pairs()) == len(responses) == check.n_pairs
    dropped = " ".join(check.dropped)
    assert "Samples in the response table without expression: P99" in dropped
    assert "Drugs without a structure" in dropped and "Unobtainium-7" in dropped
    # An antibody is not asked for a SMILES: said to be beyond what these models encode.
    biologics = next(line for line in check.dropped if "Cetuximab" in line)
    assert biologics.startswith("Antibodies and other biologics, which these models cannot encode")
    assert "add a smiles" not in biologics.lower() and "Cetuximab" not in dropped.split("Drugs without a structure")[1]
    assert "Drugs whose SMILES RDKit could not read: Mystery-1 (C1CC(()" in dropped
    assert "measured in one sample only" in dropped and "Flatline" in dropped
    sources = check.structures.set_index("drug")["structure from"]
    assert sources["ABT-263"] == "SMILES in the table" and sources["Oxaliplatin"] == "GDSC catalogue (by name)"
    # The uploads are recorded by hash only: no file names, no values.
    assert set(cohort.data_files) == {
        "upload/expression (sha256 of the bytes)",
        "upload/responses (sha256 of the bytes)",
    }
    assert "test lab" in cohort.provenance
    text = check.to_text()
    assert "12 samples x 10 drugs" in text and "Left out:" in text


def test_cohorts_that_cannot_be_trained_on_are_refused(tiny_models_dir: Path) -> None:
    expression, responses = screen_tables(tiny_models_dir)
    lower = responses.assign(Organoid=responses["Organoid"].str.lower())
    with pytest.raises(UploadError, match="12 would match if upper and lower case were ignored"):
        _upload(expression.to_csv().encode(), _csv(lower))
    few = responses[responses["Organoid"].isin(expression.columns[:3])]
    with pytest.raises(UploadError, match=r"3 sample\(s\) \(at least 5 are needed to cross-validate over organoids\)"):
        _upload(expression.to_csv().encode(), _csv(few))
    swapped = expression.to_csv().encode()
    with pytest.raises(UploadError, match="^Response table: No column names the samples"):
        _upload(swapped, swapped)


def test_missing_panel_genes_are_filled_and_counted(tiny_models_dir: Path) -> None:
    expression, responses = screen_tables(tiny_models_dir)
    panel = load_panel("tdnn")
    gap_gene, absent_gene = panel[0], panel[1]
    patchy = expression.drop(index=absent_gene)
    patchy.loc[gap_gene, "P10"] = np.nan
    uploaded = _upload(patchy.to_csv().encode(), _csv(responses))
    completed = uploaded.cohort.expression
    assert list(completed.columns) == panel and not completed.isna().any().any()
    assert completed.loc["P10", gap_gene] == pytest.approx(patchy.loc[gap_gene].drop("P10").mean(), rel=1e-4)
    assert completed.loc["P11", absent_gene] == pytest.approx(completed.loc["P11"].drop(absent_gene).mean(), rel=1e-3)
    notes = " ".join(uploaded.check.notes)
    assert (
        "1 missing value(s) of panel genes" in notes and "1 of the 655 panel genes were measured in no sample" in notes
    )


# ---------------------------------------------------------------- training, bundles, zip


@pytest.fixture(scope="module")
def trained(tiny_models_dir: Path, gdsc1):
    """The fine-tuned and from-scratch bundles of the 12-organoid cohort, with every progress step seen."""
    expression, responses = screen_files(tiny_models_dir)
    uploaded = _upload(expression, responses, label="colorectal subset")
    pretrained, manifest = pretrained_from_zeroshot_bundle(tiny_models_dir / "colorectal_tdnn_zeroshot")
    steps = []
    bundles = train_own_cohort(
        uploaded.cohort,
        "colorectal subset",
        pretrained,
        manifest,
        gdsc1,
        FAST,
        n_folds=3,
        progress=steps.append,
        config=TINY,
    )
    return uploaded, pretrained, bundles, steps


def test_fine_tuned_and_scratch_bundles_are_cross_validated_like_the_committed_ones(trained) -> None:
    uploaded, pretrained, bundles, steps = trained
    cohort = uploaded.cohort
    assert {training: b.name for training, b in bundles.items()} == {
        "finetuned": "session_tdnn_finetuned",
        "scratch": "session_tdnn_scratch",
    }
    for training, bundle in bundles.items():
        assert len(bundle.members) == 3
        oof = bundle.reference_predictions
        assert len(oof) == len(cohort.expression) * len(cohort.drug_smiles)
        assert oof["y_true"].notna().sum() == len(cohort.usable_pairs())
        # The benchmark scores these out-of-fold predictions (MSE by hand on the observed range scaled to 0-1)
        # beside the naive baselines, which score exactly 0 on the fold-centred within-drug r.
        scores = bundle.benchmark.set_index("model")
        assert list(scores.index) == [f"tdnn_{training}", *NAIVE_BASELINES]
        screened = oof.dropna(subset=["y_true"])
        span = screened["y_true"].max() - screened["y_true"].min()
        by_hand = (((screened["y_pred"] - screened["y_true"]) / span) ** 2).mean()
        assert scores.loc[f"tdnn_{training}", "mse"] == pytest.approx(by_hand, rel=1e-9)
        assert (scores.loc[list(NAIVE_BASELINES), HEADLINE] == 0.0).all()
        assert bundle.manifest.cohort["label"] == "colorectal subset"
        assert "uploaded by a user" in bundle.manifest.cohort["source"]
        assert set(cohort.data_files) <= set(bundle.manifest.data_files)
        # ComBat of each fold was fitted on GDSC + that fold's training organoids only.
        folds = pd.Series(bundle.manifest.cross_validation.folds)
        for k, member in enumerate(bundle.members):
            assert member.trained.expression.combat.batch_sizes["target"] == int((folds != k).sum())
        # Nothing but the standard bundle files: the uploaded expression is not among them.
        names = set(bundle_files(bundle))
        assert names == {
            "manifest.json",
            "drugs.csv",
            "reference_predictions.csv.gz",
            "benchmark.csv",
            *(
                f"members/{k}/{f}"
                for k in range(3)
                for f in ("architecture.json", "preprocessing.json", "drug_inputs.npy")
            ),
            *(f"weights/member_{k}.npz" for k in range(3)),
        }
    # Fine-tuning keeps the pre-trained drug encoder (GDSC-fitted); from scratch fits its own on the cohort's drugs.
    assert bundles["finetuned"].members[0].trained.drugs.to_dict() == pretrained.drugs.to_dict()
    assert bundles["scratch"].members[0].trained.drugs.to_dict() != pretrained.drugs.to_dict()
    assert {(s.training, s.fold) for s in steps} == {(k, f) for k in ("finetuned", "scratch") for f in range(3)}
    assert [s.fraction for s in steps] == sorted(s.fraction for s in steps) and steps[-1].fraction <= 1.0
    scores = comparison_table(bundles).set_index("model")
    assert list(scores.columns) == [METRICS[key].label for key in SCORES]  # the headline within-drug r first
    assert scores.loc["naive: per-drug mean", METRICS[HEADLINE].label] == 0.0
    assert scores.loc["fine-tuned (pre-trained on GDSC)", "MSE"] == pytest.approx(
        bundles["finetuned"].benchmark.iloc[0]["mse"]
    )


def test_zip_in_memory_reloads_to_the_same_predictions(trained) -> None:
    uploaded, _, bundles, _ = trained
    archive = bundles_to_zip_bytes(list(bundles.values()))
    reloaded = {b.name: b for b in bundles_from_zip_bytes(archive)}
    probe = uploaded.cohort.expression.iloc[:4]
    for bundle in bundles.values():
        again = reloaded[bundle.name]
        np.testing.assert_array_equal(member_predictions(bundle, probe), member_predictions(again, probe))
        assert again.manifest.cohort == bundle.manifest.cohort
        pd.testing.assert_frame_equal(again.benchmark, bundle.benchmark, atol=1e-6, check_dtype=False)


def test_the_training_expression_given_again_is_rebuilt_exactly_and_only_from_the_same_file(
    trained, tiny_models_dir: Path
) -> None:
    uploaded, _, bundles, _ = trained
    expression, _ = screen_files(tiny_models_dir)
    bundle = bundles["finetuned"]
    samples = sorted(bundle.reference_predictions["sample"].unique())
    again = training_expression_again(expression, "expr.csv", bundle.manifest.data_files, samples, bundle.genes)
    pd.testing.assert_frame_equal(again, uploaded.cohort.expression)
    with pytest.raises(UploadError, match="expr.csv is not the expression file these models were trained on"):
        training_expression_again(
            expression.replace(b"0", b"1", 1), "expr.csv", bundle.manifest.data_files, samples, bundle.genes
        )
    with pytest.raises(UploadError, match="not trained on an uploaded cohort"):
        training_expression_again(expression, "expr.csv", {}, samples, bundle.genes)


def _rezipped(archive: bytes, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            name, data = change(info.filename, source.read(info))
            target.writestr(name, data)
    return out.getvalue()


def test_altered_or_foreign_zips_are_refused(trained) -> None:
    archive = bundles_to_zip_bytes([trained[2]["scratch"]])
    tampered = _rezipped(archive, lambda n, d: (n, d.replace(b",", b";", 1) if n.endswith("drugs.csv") else d))
    with pytest.raises(BundleError, match="drugs.csv was modified.*download it again"):
        bundles_from_zip_bytes(tampered)
    with pytest.raises(BundleError, match="not a zip archive"):
        bundles_from_zip_bytes(b"sample,drug,auc\n")
    escaping = _rezipped(archive, lambda n, d: (n.replace("session_tdnn_scratch/", "../"), d))
    with pytest.raises(BundleError, match="unsafe paths"):
        bundles_from_zip_bytes(escaping)
    with pytest.raises(BundleError, match="holds no model bundle"):
        bundles_from_zip_bytes(_rezipped(archive, lambda n, d: (n.replace("manifest.json", "notes.json"), d)))


@pytest.mark.slow
def test_background_jobs_report_stop_fail_and_queue(tmp_path: Path) -> None:
    first = background.start(count_slowly, (100_000,), "test-counting")
    queued = background.start(count_slowly, (3,), "test-queued")
    _wait_for(lambda: first.progress is not None)
    assert queued.status == background.QUEUED  # one training at a time
    first.cancel()
    assert first.status == background.CANCELLED  # at once, not when the worker notices
    _wait_for(lambda: not queued.active)
    assert first.result is None and not first._process.is_alive()
    assert queued.status == background.DONE and queued.result == "finished" and queued.progress == 2
    failing = background.start(divide, (1, 0), "test-failing")
    _wait_for(lambda: not failing.active)
    assert failing.status == background.FAILED and failing.error == "ZeroDivisionError: division by zero"
    writing = background.start(write_file, (str(tmp_path / "upload.csv"),), "test-writing")
    _wait_for(lambda: not writing.active)
    assert writing.status == background.FAILED and "writes no files" in writing.error
    assert not (tmp_path / "upload.csv").exists()


@pytest.mark.slow
def test_a_killed_worker_is_reported_in_plain_words() -> None:
    job = background.start(count_slowly, (100_000,), "test-killed")
    _wait_for(lambda: job.progress is not None)
    os.kill(job._process.pid, signal.SIGKILL)  # what the out-of-memory killer does
    _wait_for(lambda: not job.active)
    assert job.status == background.FAILED and job.result is None
    assert job.error.startswith("The training process was stopped by the system, for example because the server")
    assert "Nothing from this training was kept. Start it again" in job.error and "exit code" not in job.error
    after = background.start(count_slowly, (3,), "test-after-kill")  # the next training is not blocked
    _wait_for(lambda: not after.active)
    assert after.status == background.DONE


@pytest.mark.slow
def test_a_worker_does_not_run_the_app_script_again(tmp_path: Path, monkeypatch) -> None:
    """Under Streamlit, ``__main__`` is the running app script (a module without a spec): a spawned worker ran it
    again, in a process without a session (the "missing ScriptRunContext" warnings in the server log)."""
    app_script = tmp_path / "app.py"
    app_script.write_text("raise SystemExit('the app script ran in the worker')\n")
    script_module = types.ModuleType("__main__")  # as Streamlit's script runner installs it
    script_module.__file__ = str(app_script)
    monkeypatch.setitem(sys.modules, "__main__", script_module)
    job = background.start(divide, (6, 3), "test-main")
    _wait_for(lambda: not job.active)
    assert job.status == background.DONE and job.result == 2.0, job.error
    assert not hasattr(script_module, "__spec__") or script_module.__spec__ is None  # left as it was


def _wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_command_line_writes_loadable_bundles(tiny_models_dir: Path, tmp_path: Path, capsys) -> None:
    expression, responses = screen_files(tiny_models_dir)
    (tmp_path / "expression.csv").write_bytes(expression)
    (tmp_path / "responses.csv").write_bytes(responses)
    common = [
        str(tmp_path / "expression.csv"),
        "--metric",
        "auc",
        "--pretrained",
        str(tiny_models_dir / "colorectal_tdnn_zeroshot"),
        "--out",
        str(tmp_path / "out"),
    ]
    status = finetune_own_cohort.main(
        [common[0], str(tmp_path / "responses.csv"), *common[1:], "--name", "lab", "--folds", "2", "--max-epochs", "2"]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "12 samples x 10 drugs" in printed and "naive: per-drug mean" in printed
    for training in ("finetuned", "scratch"):
        bundle = load_bundle(tmp_path / "out" / f"lab_tdnn_{training}")
        assert len(bundle.members) == 2 and bundle.manifest.settings["training"]["max_epochs"] == 2
    (tmp_path / "percent.csv").write_bytes(
        b"sample,drug,auc\n" + b"".join(f"P{i},d,{60 + i}\n".encode() for i in range(9))
    )
    assert finetune_own_cohort.main([common[0], str(tmp_path / "percent.csv"), *common[1:]]) == 2
    assert "Not usable: Response table: Most values lie outside 0 to 1" in capsys.readouterr().err


# ---------------------------------------------------------------- the dashboard page


@contextmanager
def files_written():
    """Paths opened for writing (by any thread) while the block runs, seen through a Python audit hook."""
    written: list[str] = []
    _RECORDERS.append(written)
    if not _HOOK_INSTALLED:
        sys.addaudithook(_audit)
        _HOOK_INSTALLED.append(True)
    try:
        yield written
    finally:
        _RECORDERS.remove(written)


_RECORDERS: list[list[str]] = []
_HOOK_INSTALLED: list[bool] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


def _audit(event: str, args: tuple) -> None:
    if event != "open" or not _RECORDERS or isinstance(args[0], int):
        return
    path, mode, flags = args
    if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags > 0 and flags & _WRITE_FLAGS
    ):
        for recorder in _RECORDERS:
            recorder.append(os.fsdecode(path))


def _app(page: str) -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT).switch_page(page).run()


def _check_cohort(app: AppTest, expression: bytes, responses: bytes, label: str = "colorectal subset") -> AppTest:
    app.file_uploader(key="finetune_expression").set_value(("expression.csv", expression, "text/csv"))
    app.file_uploader(key="finetune_responses").set_value(("responses.csv", responses, "text/csv"))
    app.text_input(key="finetune_label").set_value(label)
    return app.button[[b.label for b in app.button].index("Check the cohort")].click().run()


def _texts(app: AppTest) -> str:
    return "\n".join(
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader")
        for e in getattr(app, kind)
    )


def _ranking_of_demo_organoid(app: AppTest, sample: str) -> AppTest:
    """Pick a reference organoid as the demo profile on Upload & QC, then open the drug ranking."""
    app = app.switch_page("views/upload.py").run()
    app.radio(key="upload_source").set_value("Use a reference organoid as a demo").run()
    app.multiselect(key="demo_samples").set_value([sample]).run()
    app.button[[b.label for b in app.button].index("Use as demo profile")].click().run()
    return app.switch_page("views/ranking.py").run()


def test_page_fine_tunes_and_every_page_uses_the_session_bundles(models_env, tiny_models_dir: Path) -> None:
    expression, responses = screen_files(tiny_models_dir)
    with files_written() as written:
        app = _check_cohort(_app("views/finetune.py"), expression, responses)
        assert not app.exception
        assert {m.label: m.value for m in app.metric} == {
            "Samples kept": "12",
            "Drugs kept": "10",
            "Sample-drug pairs": str(len(screen_tables(tiny_models_dir)[1])),
        }
        app.number_input(key="finetune_epochs").set_value(3)
        app.number_input(key="finetune_folds").set_value(2)
        app.button(key="finetune_start").click().run()
        assert app.get("progress") or app.session_state["finetune_job"].status == background.DONE
        job = app.session_state["finetune_job"]
        while job.active:
            time.sleep(1)
            app.run()
        app.run()
        assert not app.exception and job.status == background.DONE, job.error
        assert "How far each model can be trusted on your cohort" in _texts(app)
        bundles = app.session_state["_session_bundles"]
        assert set(bundles) == {"session_tdnn_finetuned", "session_tdnn_scratch"}
        _assert_scores_shown(app, bundles)
        assert "Download both bundles (.zip)" in [b.label for b in app.get("download_button")]
        # The pages switch to the lab's models by themselves only when one beats each drug's average; else asked.
        if not beats_the_drug_average(evidence(b.reference_predictions) for b in bundles.values()):
            app.sidebar.selectbox(key="model_source_widget").set_value("session").run()
        assert app.sidebar.selectbox(key="model_source_widget").value == "session"

        # The next patient's organoid is ranked with z-scores against this cohort.
        app = _ranking_of_demo_organoid(app, "P5")
        assert not app.exception
        assert "the 12 organoids of the colorectal subset cohort" in _texts(app)
        ranking = rank_drugs(bundles["session_tdnn_finetuned"], load_cohort("colorectal").expression.loc[["P5"]])
        np.testing.assert_allclose(shown_ranking(app, "finetuned")["z-score"], ranking["z_score"], rtol=1e-5)
        for page in ("views/genes.py", "views/pathways.py", "views/performance.py", "views/about.py"):
            app = app.switch_page(page).run()
            assert not app.exception, page
            if page == "views/genes.py":
                assert "Reference cohort (12 organoids)" in _texts(app)

        # Back to the reference models: the sidebar switch changes every page.
        app.sidebar.selectbox(key="model_source_widget").set_value("reference").run()
        app = app.switch_page("views/ranking.py").run()
        assert "the 19 colorectal cancer organoids (van de Wetering 2015)" in _texts(app)
    # Nothing uploaded reached the disk, not even the descriptors of the cohort's structures (the cache is
    # read-only while a user's cohort trains). Written was only TensorFlow's own: autograph's generated
    # source of the training step, and an unnamed O_TMPFILE in the temp folder (never linked into it).
    assert [
        path
        for path in written
        if path != tempfile.gettempdir() and not Path(path).name.startswith("__autograph_generated_file")
    ] == []


def _assert_scores_shown(app: AppTest, bundles: dict) -> None:
    """The page's comparison table is the library's, a score undefined for a row said as on the performance page."""
    shown = next(d.value for d in app.dataframe if "model" in d.value.columns).reset_index(drop=True)
    expected = comparison_table({b.manifest.training: b for b in bundles.values()})
    assert list(shown["model"]) == list(expected["model"]) and expected.isna().any().any()
    for column in expected.columns[1:]:
        if expected[column].isna().any():  # text: the page's 3 decimals, and the word where there is no score
            assert list(shown[column]) == ["undefined" if pd.isna(v) else f"{v:.3f}" for v in expected[column]]
        else:
            np.testing.assert_allclose(shown[column], expected[column], rtol=1e-5)  # as sent to the browser


def _predicting(bundle, ordering: float):
    """``bundle`` whose out-of-fold predictions are each drug's average plus ``ordering`` times the organoid's
    deviation from it: 1 orders the organoids perfectly, -1 backwards (no better than the drug's average)."""
    oof = bundle.reference_predictions.copy()
    average = oof.groupby("drug")["y_true"].transform("mean")
    screened = oof["y_true"].notna()
    oof.loc[screened, "y_pred"] = average[screened] + ordering * (oof.loc[screened, "y_true"] - average[screened])
    return replace(bundle, reference_predictions=oof)


def _finished_training(trained, ordering: float) -> background.BackgroundJob:
    """A training job that has just ended with ``trained``'s bundles, their predictions made to order as asked."""
    archive = bundles_to_zip_bytes([_predicting(b, ordering) for b in trained[2].values()])
    return background.BackgroundJob(status=background.DONE, result=archive, started=0.0, finished=42.0)


@pytest.mark.parametrize("ordering", [-1.0, 1.0])
def test_the_labs_models_get_a_verdict_and_are_used_only_when_they_beat_the_drug_average(
    models_env, trained, ordering: float
) -> None:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).switch_page("views/finetune.py")
    app.session_state["finetune_job"] = _finished_training(trained, ordering)
    app.session_state["finetune_job_cohort"] = {"expression": trained[0].cohort.expression, "label": "lab 7"}
    app.run()
    assert not app.exception
    verdicts = [e.value for e in (app.error if ordering < 0 else app.success)]
    assert sum(GRADE_WORDS[NO_BETTER] in v for v in verdicts) == (2 if ordering < 0 else 0)
    assert sum("better than chance" in v for v in verdicts) == (0 if ordering < 0 else 2)
    _assert_scores_shown(app, trained[2])  # the benchmark of the folds, not changed above
    if ordering > 0:  # used at once
        assert app.sidebar.selectbox(key="model_source_widget").value == "session"
        assert "Every page now uses these models" in _texts(app) and "To use them anyway" not in _texts(app)
        return
    # No better than each drug's average: the pages keep the reference models until the lab says otherwise.
    assert app.sidebar.selectbox(key="model_source_widget").value == "reference"
    assert "Neither of these models orders your organoids better than each drug's average" in _texts(app)
    assert "To use them anyway, choose *Your cohort (this session)* under *Models used on every page*" in _texts(app)
    assert "Every page now uses these models" not in _texts(app)
    app.sidebar.selectbox(key="model_source_widget").set_value("session").run()
    assert app.sidebar.selectbox(key="model_source_widget").value == "session"
    assert "Every page now uses these models" in _texts(app)


def test_the_page_keeps_what_was_typed_while_other_pages_are_open(models_env, tiny_models_dir: Path) -> None:
    expression, responses = screen_files(tiny_models_dir)
    app = _check_cohort(_app("views/finetune.py"), expression, responses, label="lab 7 screen")
    assert app.number_input(key="finetune_folds").value == 5  # the default for 12 organoids
    app.number_input(key="finetune_epochs").set_value(7)
    app.number_input(key="finetune_folds").set_value(3).run()
    for page in ("views/about.py", "views/ranking.py", "views/finetune.py"):
        app = app.switch_page(page).run()
        assert not app.exception, page
    assert app.text_input(key="finetune_label").value == "lab 7 screen"
    assert (app.number_input(key="finetune_epochs").value, app.number_input(key="finetune_folds").value) == (7, 3)
    assert "Checked: **lab 7 screen**" in _texts(app)


def test_page_refuses_a_bad_response_table_in_plain_language(models_env, tiny_models_dir: Path) -> None:
    expression, responses = screen_tables(tiny_models_dir)
    percent = responses.assign(AUC=responses["AUC"] * 100)
    app = _check_cohort(_app("views/finetune.py"), expression.to_csv().encode(), _csv(percent))
    assert not app.exception
    message = app.error[0].value
    assert message.startswith("**This cohort cannot be used.** Response table: Most values lie outside 0 to 1")
    assert "If your AUC is in percent, divide it by 100" in message and "finetune_cohort" not in app.session_state
    assert "Fine-tune and train from scratch" not in [b.label for b in app.button]

    partly = responses.astype({"AUC": object})
    partly.loc[0, "AUC"], partly.loc[1, "AUC"] = "n.d.", 1.4
    app = _check_cohort(app, expression.to_csv().encode(), _csv(partly))
    assert not app.exception and not app.error
    left_out = app.warning[0].value
    assert (
        "1 row(s) whose value is not a number (e.g. n.d.)" in left_out
        and "1 row(s) with AUC outside 0 to 1" in left_out
    )


def test_a_page_open_across_a_server_restart_says_what_was_lost(models_env) -> None:
    app = _app("views/finetune.py")
    assert "training" not in app.query_params and not app.warning
    # After a restart the browser reconnects with the address it kept (a training running), in a session that
    # replaced one the server no longer held (found from the browser's request: tests/test_restart.py).
    app.query_params.update({"training": "running"})
    app.session_state[SESSION_LOST] = True
    app.run()
    assert not app.exception
    assert [w.value for w in app.main.warning[:2]] == [
        NOTICE,  # the entry point's, on every page (tests/test_restart.py)
        "**The training that was running was lost with the restart**; nothing from it was kept.",
    ]
    assert "training" not in app.query_params
    app = app.button[[b.label for b in app.button].index("Check the cohort")].click().run()
    assert "uploaded before the server was restarted are no longer held: remove them" in app.error[0].value
    app = _app("views/finetune.py")  # the same server, reloaded while a training ran in the page before
    app.query_params.update({"training": "running"})
    app.run()
    assert app.warning[0].value.startswith("**This page was reloaded while a training was running.**")


def test_page_loads_a_downloaded_zip_into_this_session_only(models_env, trained) -> None:
    archive = bundles_to_zip_bytes(list(trained[2].values()))
    app = _app("views/finetune.py")
    app.file_uploader(key="finetune_bundle_zip").set_value(("bundles.zip", archive, "application/zip")).run()
    assert not app.exception
    boxes = [box.value for box in (*app.success, *app.warning)]
    loaded = next(box for box in boxes if "Loaded tDNN fine-tuned, tDNN from scratch: every page now uses" in box)
    # Each loaded model's verdict on its own cohort, and the amber box when neither beats each drug's average.
    assert sum("cross-validated within-drug r = " in box for box in (*boxes, *(e.value for e in app.error))) == 2
    assert ("Neither orders its cohort's organoids better" in loaded) == (loaded in [w.value for w in app.warning])
    # Loading bundles switches every page to them, even after the user had switched back to the reference models.
    app.sidebar.selectbox(key="model_source_widget").set_value("reference").run()
    app.file_uploader(key="finetune_bundle_zip").set_value(("again.zip", archive, "application/zip")).run()
    assert app.sidebar.selectbox(key="model_source_widget").value == "session"
    app = app.switch_page("views/genes.py").run()
    assert not app.exception
    assert "holds its cohort's predictions but not its expression" in _texts(app)
    # Given the training expression file again (and only that very file), the genes page explains the cohort.
    expression, _ = screen_files(models_env)
    app = app.switch_page("views/finetune.py").run()
    changed = expression.replace(b"0", b"1", 1)
    app.file_uploader(key="finetune_loaded_expression_file").set_value(("expr.csv", changed, "text/csv")).run()
    assert any("expr.csv is not the expression file these models were trained on" in e.value for e in app.error)
    app.file_uploader(key="finetune_loaded_expression_file").set_value(("expr.csv", expression, "text/csv")).run()
    assert (
        not any("cannot be used" in e.value for e in app.error)
        and "now also explains the cohort of tDNN fine-tuned, tDNN from scratch" in app.success[-1].value
    )
    app = app.switch_page("views/genes.py").run()
    assert not app.exception and "Reference cohort (12 organoids)" in _texts(app)
    assert len(app.get("plotly_chart")) == 1  # the cohort's genes (no organoid profile in this session)
    other = _app("views/ranking.py")  # another browser session sees none of it
    assert "_session_bundles" not in other.session_state and not other.sidebar.selectbox

    broken = _rezipped(archive, lambda n, d: (n, d + b"x" if n.endswith("benchmark.csv") else d))
    app = _app("views/finetune.py")
    app.file_uploader(key="finetune_bundle_zip").set_value(("bundles.zip", broken, "application/zip")).run()
    assert (
        "**These bundles cannot be used.**" in app.error[0].value and "benchmark.csv was modified" in app.error[0].value
    )


def test_a_turned_around_ln_ic50_screen_is_labelled_as_such_on_every_page(
    models_env, tiny_models_dir: Path, gdsc1
) -> None:
    """A screen reported as ln IC50 with higher = more sensitive is stored negated: tables, axes, CSV and
    report must say "-ln IC50", not "AUC" (the committed bundles' unit)."""
    expression, responses = screen_tables(tiny_models_dir)
    potency = responses.assign(AUC=8 * responses["AUC"] - 4).rename(columns={"AUC": "ln_IC50"})
    uploaded = validate_cohort_upload(
        expression.to_csv().encode(),
        "expression.csv",
        _csv(potency),
        "responses.csv",
        metric="ln_ic50",
        lower_is_sensitive=False,
        panel=load_panel("tdnn"),
    )
    assert (
        uploaded.cohort.response_unit == "-ln IC50" and "-ln IC50, lower = more sensitive" in uploaded.check.to_text()
    )
    pretrained, manifest = pretrained_from_zeroshot_bundle(tiny_models_dir / "colorectal_tdnn_zeroshot")
    bundles = train_own_cohort(
        uploaded.cohort, "potency screen", pretrained, manifest, gdsc1, FAST, n_folds=2, config=TINY
    )
    archive = bundles_to_zip_bytes(list(bundles.values()))
    assert {b.response_unit for b in bundles_from_zip_bytes(archive)} == {"-ln IC50"}

    app = _app("views/finetune.py")
    app.file_uploader(key="finetune_bundle_zip").set_value(("bundles.zip", archive, "application/zip")).run()
    app = _ranking_of_demo_organoid(app, "P5")
    assert not app.exception
    assert {"predicted -ln IC50", "± -ln IC50"} <= set(app.dataframe[1].value.columns)
    assert "**-ln IC50**: predicted -ln IC50" in _texts(app) and "AUC" not in _texts(app)
    app = app.switch_page("views/genes.py").run()
    assert not app.exception
    assert "in -ln IC50 units" in _texts(app) and "AUC" not in _texts(app)
