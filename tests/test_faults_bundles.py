"""One damaged bundle takes down only itself (issue 24): faults injected into a copy of ``trained_models/``.

The three faults an operator met, injected at once into one copy named by ``PDO_MODELS_DIR``: the manifest of
``colorectal_tdnn_finetuned`` cut to half its length, one byte of ``colorectal_convnn_zeroshot``'s shared weights
flipped, ``colorectal_paccmann_scratch/drugs.csv`` deleted; and beside the bundles, one byte flipped in the gene
rankings precomputed for ``colorectal_convnn_finetuned``, a number of its precomputed evidence made text, and the
benchmark's seed table overwritten. The library must name each damaged bundle with its reason and keep every
intact sibling; every page, run headless by Streamlit's AppTest as a user would, must show no traceback, use the
six intact bundles and say which three cannot be used. ``trained_models/`` itself is never touched.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest
from dashboard_fixtures import APP, REPO_ROOT
from streamlit.testing.v1 import AppTest

from core.evaluation.evidence import evidence_file, stored_evidence
from core.inference.bundle import BundleError, check_bundles, load_bundle, read_manifest
from core.study_design import TRAINING_TITLES, TRAININGS
from core.usecases.bundle_grid import app_slots, bundle_grid, offered_bundles

COMMITTED = REPO_ROOT / "trained_models"
TIMEOUT = 300
DAMAGED = {  # bundle -> what its reason must say
    "colorectal_tdnn_finetuned": "is not valid JSON",
    "colorectal_convnn_zeroshot": "weights/shared.npz was modified",
    "colorectal_paccmann_scratch": "missing drugs.csv",
}
LABELS = {"colorectal_tdnn_finetuned": "tDNN fine-tuned", "colorectal_convnn_zeroshot": "ConvNN zero-shot"}
LABELS["colorectal_paccmann_scratch"] = "PaccMann from scratch"
INTACT = sorted(set(app_slots()) - set(DAMAGED))
PAGES = ["home", "upload", "ranking", "genes", "pathways", "performance", "finetune", "about"]


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the committed bundles with the three faults of the issue."""
    folder = tmp_path_factory.mktemp("faults") / "trained_models"
    shutil.copytree(COMMITTED, folder)
    truncate(folder / "colorectal_tdnn_finetuned" / "manifest.json")
    flip_byte(folder / "colorectal_convnn_zeroshot" / "weights" / "shared.npz")
    (folder / "colorectal_paccmann_scratch" / "drugs.csv").unlink()
    flip_byte(folder / "explanations" / "colorectal_convnn_finetuned" / "reference_genes.csv.gz")
    evidence = evidence_file(folder)
    rows = evidence.read_text().splitlines()
    damaged_row = next(i for i, row in enumerate(rows) if row.startswith("colorectal_convnn_finetuned,"))
    rows[damaged_row] = rows[damaged_row].replace(",-0.", ",-x.", 1)  # its within-drug r, -0.000949
    evidence.write_text("\n".join(rows) + "\n")
    (folder / "benchmark" / "seed_spread.csv").write_text("model,score\nconvnn_scratch,text where numbers were\n")
    return folder


def _copy(name: str, folder: Path, as_name: str | None = None) -> Path:
    return Path(shutil.copytree(COMMITTED / name, folder / (as_name or name)))


def test_each_damaged_bundle_is_named_with_its_reason_and_every_intact_one_kept(damaged: Path) -> None:
    found = offered_bundles(damaged)
    assert sorted(found.usable) == INTACT
    assert sorted(found.unusable) == sorted(DAMAGED)
    for name, reason in DAMAGED.items():
        assert reason in found.unusable[name] and name in found.unusable[name]
    # Each architecture keeps its two intact models: the fine-tuned PaccMann beside its damaged scratch sibling,
    # the two ConvNN models beside the zero-shot one whose shared weights were altered.
    assert bundle_grid(found.usable) == {
        "tdnn": {"scratch": "colorectal_tdnn_scratch", "zeroshot": "colorectal_tdnn_zeroshot"},
        "convnn": {"scratch": "colorectal_convnn_scratch", "finetuned": "colorectal_convnn_finetuned"},
        "paccmann": {"finetuned": "colorectal_paccmann_finetuned", "zeroshot": "colorectal_paccmann_zeroshot"},
    }
    assert "pancreas-panel_tdnn_zeroshot" in check_bundles(damaged).usable  # not an app bundle, still checked


def test_a_file_damaged_after_the_first_check_is_found_by_the_next(tmp_path: Path) -> None:
    folder = _copy("colorectal_convnn_zeroshot", tmp_path)
    assert list(offered_bundles(tmp_path).usable) == ["colorectal_convnn_zeroshot"]
    inputs = folder / "members" / "0" / "drug_inputs.npy"
    original = inputs.read_bytes()
    flip_byte(inputs)
    assert "members/0/drug_inputs.npy was modified" in offered_bundles(tmp_path).unusable["colorectal_convnn_zeroshot"]
    inputs.write_bytes(original)
    assert list(offered_bundles(tmp_path).usable) == ["colorectal_convnn_zeroshot"]


def test_a_lost_manifest_and_a_bundle_under_another_models_name_are_reported(tmp_path: Path) -> None:
    (_copy("colorectal_convnn_zeroshot", tmp_path) / "manifest.json").unlink()
    _copy("colorectal_convnn_scratch", tmp_path, as_name="colorectal_convnn_finetuned")
    found = offered_bundles(tmp_path)
    assert found.usable == {}
    assert "has no manifest.json" in found.unusable["colorectal_convnn_zeroshot"]
    assert "not the model its folder is named after" in found.unusable["colorectal_convnn_finetuned"]


def test_a_hand_edited_member_entry_fails_the_check_and_loads_with_a_plain_error(tmp_path: Path) -> None:
    """The manifest's own bytes carry no hash: an edited member entry must still not reach Keras as a KeyError."""
    folder = _copy("colorectal_convnn_zeroshot", tmp_path)
    raw = json.loads((folder / "manifest.json").read_text())
    raw["members"][1]["directory"] = "members/9"  # the panel of a schema-1 manifest is read from member 0
    (folder / "manifest.json").write_text(json.dumps(raw))
    reason = offered_bundles(tmp_path).unusable["colorectal_convnn_zeroshot"]
    assert "member file members/9/architecture.json not listed" in reason
    with pytest.raises(BundleError, match="does not match its manifest"):
        load_bundle(folder)


def test_a_damaged_precomputed_evidence_row_is_not_used() -> None:
    """A row that does not hold numbers in range is computed again by the app, not shown and not a traceback."""
    table = pd.read_csv(evidence_file(COMMITTED))
    name = "colorectal_convnn_finetuned"
    manifest = read_manifest(COMMITTED / name)
    assert stored_evidence(table, name, manifest) is not None
    row = table["bundle"] == name
    for column, value in (("within_drug", "-x.000949"), ("p_value", 1.5), ("null_sd", float("nan"))):
        damaged = table.astype({column: object})
        damaged.loc[row, column] = value
        assert stored_evidence(damaged, name, manifest) is None, column
    assert stored_evidence(table.drop(columns="reference_sha256"), name, manifest) is None


# ---------------------------------------------------------------- the pages, as a user meets them


@pytest.fixture
def damaged_env(damaged: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PDO_MODELS_DIR", str(damaged))
    return damaged


def _text(app: AppTest) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(app, kind))


def _assert_no_traceback(app: AppTest, page: str) -> None:
    assert not app.exception, f"{page}: {[e.message for e in app.exception]}"
    assert "Traceback" not in _text(app), page


@pytest.mark.slow
def test_every_page_works_and_names_the_damaged_bundles(damaged_env: Path) -> None:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    for page in PAGES:
        app.switch_page(f"views/{page}.py").run()
        _assert_no_traceback(app, page)
        sidebar = " ".join(str(e.value) for e in app.sidebar.warning)
        assert "3 model bundle(s) cannot be used" in sidebar and all(label in sidebar for label in LABELS.values())
        if page == "upload":
            assert app.file_uploader(key="upload_file") is not None  # the uploader is there: the intact ones rank
        if page == "performance":
            evidence_shown = app.dataframe[0].value  # one row per usable model
            assert len(evidence_shown) == len(INTACT)
            # The damaged evidence row was computed again from the bundle: its r, not text and not a traceback.
            convnn_finetuned = (evidence_shown["architecture"] == "ConvNN") & (
                evidence_shown["training"] == "fine-tuned"
            )
            assert evidence_shown.loc[convnn_finetuned, "within-drug r"].item() == pytest.approx(-0.000949, abs=1e-6)
            assert "Does more organoid data help?" in _text(app)  # the intact benchmark summary is still shown
            seed_story = [_text(app), *(e.label for e in app.expander)]
            assert not any("five seeds" in text for text in seed_story)  # the damaged seed table hides only itself
        if page == "finetune":  # ConvNN's pre-trained network lies in its damaged zero-shot bundle
            assert app.radio(key="finetune_architecture").options == ["tDNN", "PaccMann"]
            assert [w.value for w in app.main.warning if "ConvNN zero-shot" in str(w.value)]  # why it is not offered
        if page == "about":
            assert f"3 of {len(app_slots())} reference bundles cannot be used" in _text(app)
            listed = " ".join(str(e.value) for e in app.markdown)
            for name, reason in DAMAGED.items():
                assert f"**{LABELS[name]}** (`{name}`)" in listed and reason in listed
            assert sorted(app.dataframe[0].value["bundle"]) == INTACT
    # Damaged precomputed gene rankings are computed again, not shown and not a traceback.
    app.switch_page("views/genes.py").run()
    app.radio(key="genes_architecture").set_value("convnn").run()
    app.selectbox(key="genes_training").set_value("finetuned").run()
    _assert_no_traceback(app, "genes, ConvNN fine-tuned")
    assert (app.session_state["architecture"], app.session_state["training"]) == ("convnn", "finetuned")
    assert "How drug-specific this view is" not in _text(app)  # a caption drawn only from the precomputed files
    assert len(app.dataframe) == 1 and len(app.dataframe[0].value) > 0  # the cohort's genes, computed again


@pytest.mark.slow
def test_the_ranking_shows_every_intact_model_beside_a_damaged_one(damaged_env: Path) -> None:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).switch_page("views/upload.py").run()
    app.radio(key="upload_source").set_value("Use a reference organoid as a demo").run()
    app.multiselect(key="demo_samples").set_value(["P18"]).run()
    app.button[[b.label for b in app.button].index("Use as demo profile")].click().run()
    app.switch_page("views/ranking.py").run()
    assert app.radio(key="ranking_architecture").options == ["tDNN", "ConvNN", "PaccMann"]
    shown = {  # architecture -> (models whose ranking must be on the page, the damaged one named beside them)
        "convnn": (["scratch", "finetuned"], "zeroshot", "ConvNN zero-shot"),
        "paccmann": (["finetuned"], "scratch", "PaccMann from scratch"),
        "tdnn": (["scratch"], "finetuned", "tDNN fine-tuned"),
    }
    for architecture, (intact, damaged_training, damaged_label) in shown.items():
        app.radio(key="ranking_architecture").set_value(architecture).run()
        _assert_no_traceback(app, architecture)
        headings = [TRAINING_TITLES[t] for t in TRAININGS if TRAINING_TITLES[t] in {h.value for h in app.subheader}]
        assert all(TRAINING_TITLES[t] in headings for t in intact), architecture
        assert TRAINING_TITLES[damaged_training] not in headings, architecture
        assert len(app.dataframe) == len(headings), architecture  # one ranking under each model's heading
        notes = [str(e.value) for e in app.main.warning if "cannot be used" in str(e.value)]
        assert len(notes) == 1 and damaged_label in notes[0], architecture
        if architecture == "tdnn":  # its fine-tuned bundle is there, damaged: not "none yet"
            assert "No usable fine-tuned bundle for tDNN." in [str(e.value) for e in app.main.warning]
    # The ConvNN zero-shot model is not offered at all, so ticking it cannot replace the two intact tables.
    app.radio(key="ranking_architecture").set_value("convnn").run()
    assert not any(c.key == "ranking_zeroshot" for c in app.checkbox)


def test_the_server_log_says_once_what_the_check_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first page run checks every bundle and logs each unusable one with its reason; later runs stay quiet."""
    _copy("colorectal_convnn_scratch", tmp_path)
    flip_byte(_copy("colorectal_convnn_zeroshot", tmp_path) / "weights" / "shared.npz")
    monkeypatch.setenv("PDO_MODELS_DIR", str(tmp_path))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("dashboard.bundles")
    logger.addHandler(handler)
    try:
        app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        logged = [record.getMessage() for record in records]
        app.switch_page("views/about.py").run()
    finally:
        logger.removeHandler(handler)
    assert not app.exception
    assert len(logged) == 2 and len(records) == 2  # nothing more from the second page
    assert "colorectal_convnn_zeroshot cannot be used" in logged[0] and "weights/shared.npz was modified" in logged[0]
    assert logged[1] == f"Model bundles in {tmp_path}: 1 usable, 1 unusable."
