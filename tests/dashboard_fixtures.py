"""Fixtures of the dashboard tests: tiny real bundles and an organoid upload file.

The committed bundles in ``trained_models/`` take hours to train and may be absent or being rebuilt,
so the dashboard tests build their own: tDNN with a tiny configuration, trained for a few epochs on 8
drugs screened in both GDSC1 and the colorectal organoids, cross-validated over 3 folds, as zero-shot,
fine-tuned and from-scratch bundles. They are real bundles (saved and verified by ``core.inference.bundle``), so
every page runs the code path it runs in production; only the numbers are meaningless.

``tests/conftest.py`` registers this module as a plugin, so its fixtures reach every test module without an
import and the session-scoped bundles are built once per test run, whichever test asks first. The plain
helpers (paths, ``organoid_csv``, ``plotly_numbers``...) are imported as usual.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.cohort import Cohort
from core.data.registry import load_cohort

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "dashboard" / "app.py"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
N_DRUGS = 8
N_FOLDS = 3
TRAININGS = ("scratch", "finetuned", "zeroshot")


def _restrict(cohort: Cohort, drugs: set[str]) -> Cohort:
    return dataclasses.replace(
        cohort,
        responses=cohort.responses[cohort.responses["drug"].isin(drugs)].reset_index(drop=True),
        drug_smiles={d: s for d, s in cohort.drug_smiles.items() if d in drugs},
    )


def build_tiny_bundles(folder: Path, trainings: tuple[str, ...] = TRAININGS) -> Path:
    """Write tiny ``colorectal_tdnn_<training>`` bundles into ``folder`` and return it."""
    from core.data.panels import load_panel
    from core.inference.bundle import save_bundle
    from core.models.config import TDNNConfig
    from core.training.bundles import build_bundle
    from core.training.fit import TrainingSettings
    from core.training.protocols import pretrain

    gdsc, colorectal = load_cohort("gdsc1"), load_cohort("colorectal")
    shared = sorted(
        d for d, g in colorectal.drug_gdsc_names.items() if g in gdsc.drug_smiles and colorectal.drug_smiles.get(d)
    )[:N_DRUGS]
    gdsc = _restrict(gdsc, {colorectal.drug_gdsc_names[d] for d in shared})
    colorectal = _restrict(colorectal, set(shared))
    config = TDNNConfig(gene_units=(32, 16, 8), drug_units=(32, 16, 8), head_units=(8, 8, 4))
    settings = TrainingSettings(batch_size=64, max_epochs=3, patience=2)
    genes = load_panel("tdnn")
    pretrained = pretrain("tdnn", gdsc, genes, settings, config, max_pairs=1500, progress=None)
    provenance = {"note": "tiny test bundle: 8 drugs, 3 epochs, 1,500 GDSC pairs"}
    folder.mkdir(parents=True, exist_ok=True)
    for training in trainings:
        bundle = build_bundle(
            training,
            "tdnn",
            genes,
            gdsc,
            colorectal,
            settings,
            N_FOLDS,
            config=config,
            pretrained=None if training == "scratch" else pretrained,
            pretraining_manifest=None if training == "scratch" else provenance,
        )
        save_bundle(bundle, folder / bundle.name, shared_weights=training == "zeroshot")
    save_reference_statistics(folder)
    return folder


def save_reference_statistics(folder: Path) -> None:
    """The reference organoids' statistics the upload page aligns and checks against, built as the shipped ones."""
    from core.labshift.reference import save_reference_profile
    from core.study_design import TARGET_COHORT
    from training_scripts.build.build_reference_profile import build

    save_reference_profile(build(TARGET_COHORT)[0], folder)


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of the tiny bundles, built once per test run whichever test module asks first.

    Under pytest-xdist every worker is a process of its own: the first to ask builds them into the run's temp folder
    (shared by the workers) while the others wait on a file lock, so the run trains them once and every worker
    reads the same bundles."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build_tiny_bundles(tmp_path_factory.mktemp("tiny_bundles"))
    run_folder = tmp_path_factory.getbasetemp().parent  # this run's, holding one folder per worker
    folder, built = run_folder / "tiny_bundles", run_folder / "tiny_bundles.built"
    with open(run_folder / "tiny_bundles.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not built.exists():
            build_tiny_bundles(folder)
            built.touch()
    return folder


@pytest.fixture
def models_env(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at the tiny bundles for one test."""
    monkeypatch.setenv("PDO_MODELS_DIR", str(tiny_models_dir))
    return tiny_models_dir


def plotly_numbers(values: dict | list) -> list[float]:
    """A numeric array of a plotly chart spec as a list (plotly stores numeric arrays as base64 bytes)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def organoid_csv(path: Path, samples: int = 2, blank_in_last: list[str] | None = None) -> Path:
    """A genes-as-rows CSV of the first ``samples`` colorectal organoids' log2 expression, like a lab export.

    ``blank_in_last``: genes left empty in the last sample (a patchy profile)."""
    expression = load_cohort("colorectal").expression.iloc[:samples].copy()
    if blank_in_last:
        expression.loc[expression.index[-1], blank_in_last] = float("nan")
    expression.T.rename_axis("gene").to_csv(path, float_format="%.4f")
    return path


def environment(models: Path) -> dict[str, str]:
    """Environment of a dashboard subprocess reading ``models``."""
    # Usage statistics are left to .streamlit/config.toml, as for a user: the privacy test checks that file's setting.
    return dict(os.environ, PDO_MODELS_DIR=str(models), TF_CPP_MIN_LOG_LEVEL="2")


def shown_ranking(app, training: str) -> pd.DataFrame:
    """The ranking table the ranking page shows under ``training``'s heading: the page orders its models by their
    evidence, and the tiny bundles' evidence differs from build to build, so a position says nothing."""
    from core.study_design import TRAINING_TITLES

    titles = [h.value for h in app.subheader if h.value in TRAINING_TITLES.values()]
    return app.dataframe[titles.index(TRAINING_TITLES[training])].value


def bad_response_table(path: Path) -> Path:
    """A drug-response table (what a user might upload by mistake)."""
    pd.DataFrame(
        {"sample": ["P1", "P1", "P2"], "drug": ["Afatinib", "5-Fluorouracil", "Afatinib"], "auc": [0.61, 0.82, 0.55]}
    ).to_csv(path, index=False)
    return path
