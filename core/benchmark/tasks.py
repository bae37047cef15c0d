"""Run one benchmark task: fit on the fold's training pairs, predict its test pairs.

Everything a task reads is loaded once per worker process (cohorts, pre-trained models), so a Ray worker
that runs many tasks pays for loading once. A task returns its held-out predictions on the response's
own scale; nothing here knows about Ray.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from core.benchmark import classical
from core.benchmark.grid import Profile, Task
from core.config import models_dir
from core.data.cohort import Cohort
from core.data.panels import load_panel
from core.data.registry import load_cohort
from core.evaluation.splits import SPLIT_GROUP, cell_cold_start_folds, drug_cold_start_folds
from core.inference.model import TrainedModel
from core.models import SPECS, config_class
from core.study_design import DRUG, PRETRAINING_COHORT, TARGET_COHORT, bundle_name
from core.training.defaults import TARGET_TRAINING
from core.training.fit import TrainingSettings
from core.training.pretrained import load_pretrained, pretrained_from_zeroshot_bundle, save_pretrained
from core.training.protocols import finetune, pretrain, train_from_scratch, zero_shot

# GDSC has 309 drugs x 5 folds of per-drug models: a one-ratio elastic-net grid (6 s -> about 1 s per drug
# here) and 50 trees. Everywhere else the defaults.
CLASSICAL_SETTINGS = {PRETRAINING_COHORT: classical.ClassicalSettings(l1_ratios=(0.5,), n_alphas=10, n_trees=50)}
PRETRAINING_BATCH = 512
FOLD_SEED = 0


@cache
def cohort(name: str) -> Cohort:
    return load_cohort(name)


@cache
def usable_pairs(dataset: str) -> pd.DataFrame:
    return cohort(dataset).usable_pairs()[["sample", "drug", "value"]].reset_index(drop=True)


@cache
def folds(dataset: str, split: str, n_folds: int) -> np.ndarray:
    """Fold of every usable pair; cell cold-start folds equal the committed bundles' (same seeded deal)."""
    make = cell_cold_start_folds if split != DRUG else drug_cold_start_folds
    return make(usable_pairs(dataset), n_folds, FOLD_SEED)


def train_test(dataset: str, split: str, fold: int, n_folds: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and test pairs of one fold of ``split``."""
    pairs, fold_of = usable_pairs(dataset), folds(dataset, split, n_folds)
    return pairs[fold_of != fold].reset_index(drop=True), pairs[fold_of == fold].reset_index(drop=True)


@cache
def _gene_features(dataset: str) -> pd.DataFrame:
    return classical.gene_features(cohort(dataset), load_panel("tdnn"))


@cache
def _shipped_pretrained(architecture: str) -> TrainedModel:
    """The GDSC-pre-trained model shipped in the committed zero-shot bundle (cell cold-start)."""
    return pretrained_from_zeroshot_bundle(models_dir() / bundle_name(TARGET_COHORT, architecture, "zeroshot"))[0]


def pretraining_folder(results_dir: Path, dataset: str, architecture: str, fold: int) -> Path:
    return results_dir / "pretrained" / f"{dataset}_{architecture}_fold{fold}"


def _structures(*cohorts: Cohort) -> list[str]:
    """Every drug structure of ``cohorts``: what a drug encoder may be fitted on (inputs, not labels)."""
    return sorted({smiles for c in cohorts for smiles in c.drug_smiles.values() if smiles})


def _without_drugs(gdsc: Cohort, target: Cohort, drugs: list[str]) -> Cohort:
    """GDSC minus every drug that shares a structure (canonical SMILES) or a GDSC name with ``drugs``."""
    smiles = {target.drug_smiles[d] for d in drugs} - {None}
    names = {target.drug_gdsc_names.get(d) for d in drugs} | set(drugs)
    excluded = [d for d, s in gdsc.drug_smiles.items() if s in smiles or d in names]
    responses = gdsc.responses[~gdsc.responses["drug"].isin(excluded)]
    return dataclasses.replace(gdsc, responses=responses)


def pretraining_without_test_drugs(dataset: str, architecture: str, fold: int, profile: Profile) -> Cohort:
    """The GDSC cohort a drug cold-start fold may pre-train on: its test drugs removed."""
    _, test = train_test(dataset, DRUG, fold, profile.folds[(dataset, DRUG)])
    return _without_drugs(cohort(PRETRAINING_COHORT), cohort(dataset), sorted(test["drug"].unique()))


def run_pretraining(dataset: str, architecture: str, fold: int, profile: Profile, results_dir: Path) -> Path:
    """Pre-train ``architecture`` on GDSC without the fold's test drugs; saved, so a rerun skips it."""
    folder = pretraining_folder(results_dir, dataset, architecture, fold)
    if (folder / "manifest.json").is_file():
        return folder
    gdsc = pretraining_without_test_drugs(dataset, architecture, fold, profile)
    settings = TrainingSettings(batch_size=PRETRAINING_BATCH, max_epochs=profile.drug_pretraining_epochs)
    trained = pretrain(
        architecture,
        gdsc,
        load_panel(SPECS[architecture].panel),
        settings,
        max_pairs=profile.drug_pretraining_pairs,
        progress=None,
        encoder_smiles=_structures(cohort(PRETRAINING_COHORT), cohort(dataset)),
    )
    save_pretrained(
        trained,
        gdsc,
        settings,
        {"max_pairs": profile.drug_pretraining_pairs, "excluded_drugs_of": f"{dataset} drug cold-start fold {fold}"},
        folder,
    )
    return folder


@cache
def _fold_pretrained(folder: Path) -> TrainedModel:
    return load_pretrained(folder)[0]


def _subsample(train: pd.DataFrame, size: str, fold: int) -> pd.DataFrame:
    if size in ("all", "0") or int(size) >= len(train):
        return train
    return train.sample(n=int(size), random_state=fold).reset_index(drop=True)


def _deep_prediction(
    task: Task, train: pd.DataFrame, test: pd.DataFrame, profile: Profile, results_dir: Path, seed: int
) -> np.ndarray:
    architecture, training = task.model.split("_", 1)
    target_settings = dataclasses.replace(TARGET_TRAINING, seed=seed)  # validation split, batch order, new output layer
    target = cohort(task.dataset)
    gdsc = cohort(PRETRAINING_COHORT)
    if task.dataset == PRETRAINING_COHORT:  # on GDSC itself "scratch" is pre-training on the fold's training pairs
        settings = TrainingSettings(batch_size=PRETRAINING_BATCH, max_epochs=profile.gdsc_epochs)
        trained = pretrain(
            architecture,
            restricted(gdsc, train),
            load_panel(SPECS[architecture].panel),
            settings,
            max_pairs=profile.gdsc_max_pairs,
            progress=None,
            encoder_smiles=_structures(gdsc) if task.split == DRUG else None,
        )
        return trained.predict_pairs(gdsc.expression, test, gdsc.drug_smiles)
    train = _subsample(train, task.n_finetune, task.fold)
    if training == "scratch":
        trained = train_from_scratch(
            architecture,
            load_panel(SPECS[architecture].panel),
            gdsc,
            target,
            train,
            target_settings,
            config_class(architecture)(seed=seed),
            progress=None,
        )
    else:
        pretrained = (
            _fold_pretrained(pretraining_folder(results_dir, task.dataset, architecture, task.fold))
            if task.needs_fold_pretraining
            else _shipped_pretrained(architecture)
        )
        if training == "zeroshot":
            trained = zero_shot(pretrained, gdsc, target.expression.loc[train["sample"].unique()])
        else:
            trained = finetune(pretrained, gdsc, target, train, target_settings, progress=None)
    return trained.predict_pairs(target.expression, test, target.drug_smiles)


def restricted(source: Cohort, pairs: pd.DataFrame) -> Cohort:
    """``source`` with only the response rows of ``pairs`` (a fold's training pairs)."""
    keys = pd.MultiIndex.from_frame(pairs[["sample", "drug"]])
    rows = pd.MultiIndex.from_frame(source.responses[["sample", "drug"]]).isin(keys)
    return dataclasses.replace(source, responses=source.responses[rows])


def _classical_prediction(task: Task, train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    kind, variant = task.model.split("_", 1)
    genes = _gene_features(task.dataset)
    settings = CLASSICAL_SETTINGS.get(task.dataset, classical.ClassicalSettings())
    if variant == "per_drug":
        return classical.per_drug(kind, genes, train, test, settings)
    return classical.with_drug_features(
        kind, genes, cohort(task.dataset), train, test, SPLIT_GROUP[task.split], settings
    )


def run_task(task: Task, profile: Profile, results_dir: Path, seed: int = 0) -> pd.DataFrame:
    """Held-out predictions of ``task``: columns fold, sample, drug, y_true, y_pred (response scale).

    ``seed`` (deep models trained on the target cohort) sets the initial weights of a model trained from
    scratch, the fine-tuned model's new output layer, the validation split and the batch order; the grid
    runs seed 0, :mod:`core.benchmark.seeds` others."""
    train, test = train_test(task.dataset, task.split, task.fold, profile.folds[(task.dataset, task.split)])
    if task.architecture is not None:
        y_pred = _deep_prediction(task, train, test, profile, results_dir, seed)
    else:
        y_pred = _classical_prediction(task, train, test)
    return pd.DataFrame(
        {
            "fold": task.fold,
            "sample": test["sample"],
            "drug": test["drug"],
            "y_true": test["value"],
            "y_pred": np.asarray(y_pred, dtype=float),
        }
    )
