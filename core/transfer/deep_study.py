"""Networks on the within-drug axis: tDNN with drug-centred targets against the paper's min-max targets, and a
multi-task network on per-drug z-scores beside a per-drug ridge, on GDSC cell cold-start; tDNN on the colorectal organoid folds (zero-shot, fine-tuned, from scratch; several seeds) and on the
external colorectal cell lines (a model pre-trained without them, then fine-tuned on the organoids).

Pre-trained models are kept in the cache (one per target and held-out cell-line label), so a rerun only
retrains what it lacks. Everything returns long prediction tables (``model, fold, sample, drug, y_true,
y_pred``) scored by :func:`core.transfer.study.score_models`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from core.benchmark.grid import PROFILES
from core.benchmark.tasks import cohort, restricted, train_test
from core.config import cache_dir, models_dir
from core.data.panels import load_panel
from core.inference.expression import REFERENCE_BATCH
from core.inference.model import TrainedModel
from core.preprocessing.standardise import standardise_per_sample
from core.study_design import CELL, PRETRAINING_COHORT, TARGET_COHORT, bundle_name
from core.training.defaults import TARGET_TRAINING
from core.training.fit import TrainingSettings
from core.training.pretrained import load_pretrained, pretrained_from_zeroshot_bundle, save_pretrained
from core.training.protocols import finetune, pretrain, train_from_scratch, zero_shot
from core.transfer.linear import PerDrugRidge, shared_alpha
from core.transfer.multitask import LOSSES, VARIANTS, MultiTaskNetwork, as_pairs, responses_matrix
from core.transfer.study import EXTERNAL_LABEL, load_inputs

ARCHITECTURE = "tdnn"
N_FOLDS = 5
PRETRAINING = TrainingSettings(batch_size=512, max_epochs=20)  # the committed tDNN's budget
ORDERING_VARIANT = "mlp512-256"  # the multi-task variant the losses are compared on
GDSC_PROFILE = PROFILES["full"]  # the benchmark's GDSC cell cold-start budget (100,000 pairs, 5 epochs)


def _with_predictions(test: pd.DataFrame, model: str, fold: int, y_pred) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "fold": fold,
            "sample": test["sample"].to_numpy(),
            "drug": test["drug"].to_numpy(),
            "y_true": test["value"].to_numpy(),
            "y_pred": y_pred,
        }
    )


def gdsc_cell_cold_start(target: str, fold: int, seed: int = 0) -> pd.DataFrame:
    """One fold of the benchmark's GDSC cell cold-start, tDNN trained on the fold's training lines."""
    gdsc = cohort(PRETRAINING_COHORT)
    train, test = train_test(PRETRAINING_COHORT, CELL, fold, GDSC_PROFILE.folds[(PRETRAINING_COHORT, CELL)])
    settings = TrainingSettings(batch_size=512, max_epochs=GDSC_PROFILE.gdsc_epochs, seed=seed, target=target)
    trained = pretrain(
        ARCHITECTURE,
        restricted(gdsc, train),
        load_panel(ARCHITECTURE),
        settings,
        max_pairs=GDSC_PROFILE.gdsc_max_pairs,
        progress=None,
    )
    return _with_predictions(
        test, f"tdnn_{target}", fold, trained.predict_pairs(gdsc.expression, test, gdsc.drug_smiles)
    )


def gdsc_fold_inputs(fold: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training genes, training responses samples x drugs, test genes, test pairs) of one GDSC cell cold-start
    fold, genes z-scored per sample over the tDNN panel."""
    gdsc = cohort(PRETRAINING_COHORT)
    train, test = train_test(PRETRAINING_COHORT, CELL, fold, GDSC_PROFILE.folds[(PRETRAINING_COHORT, CELL)])
    genes = standardise_per_sample(gdsc.expression, load_panel(ARCHITECTURE)).astype(np.float64)
    responses = responses_matrix(train)
    return genes.loc[responses.index], responses, genes.loc[test["sample"].unique()], test


def gdsc_multitask_and_ridge(fold: int, seed: int = 0) -> pd.DataFrame:
    """One GDSC fold: the multi-task network variants, the one with the lowest validation loss (training lines
    only), their mean (an ensemble, no selection), and the per-drug ridge with one shared penalty."""
    train_genes, responses, test_genes, test = gdsc_fold_inputs(fold)
    tables, fitted = [], {}
    for name, settings in VARIANTS.items():
        fitted[name] = MultiTaskNetwork(settings, seed).fit(train_genes, responses)
        tables.append(
            _with_predictions(test, f"multitask_{name}", fold, as_pairs(fitted[name].predict(test_genes), test))
        )
    chosen = min(fitted, key=lambda name: fitted[name].validation_loss)
    tables.append(tables[list(fitted).index(chosen)].assign(model="multitask_selected", selected=chosen))
    ensemble = sum(network.predict(test_genes) for network in fitted.values()) / len(fitted)
    tables.append(_with_predictions(test, "multitask_ensemble", fold, as_pairs(ensemble, test)))
    train_pairs = responses.stack().dropna().rename("value").reset_index()
    ridge = PerDrugRidge(alpha=shared_alpha(train_genes, train_pairs)).fit(train_genes, train_pairs)
    tables.append(_with_predictions(test, "ridge_per_drug", fold, ridge.predict(test_genes, test)))
    return pd.concat(tables, ignore_index=True)


def held_out_lines(exclude: str) -> set[str]:
    """GDSC lines an ``exclude`` names: ``cell_fold<k>`` is fold k of the benchmark's GDSC cell cold-start,
    anything else a TCGA label of ``cell_lines.csv`` (e.g. COREAD)."""
    if exclude.startswith("cell_fold"):
        fold = int(exclude.removeprefix("cell_fold"))
        _, test = train_test(PRETRAINING_COHORT, CELL, fold, GDSC_PROFILE.folds[(PRETRAINING_COHORT, CELL)])
        return set(test["sample"])
    labels = load_inputs().cell_lines["tcga_label"]
    return set(labels.index[labels == exclude])


def gdsc_ordering_losses(fold: int, seed: int = 0) -> pd.DataFrame:
    """One GDSC fold: the default multi-task network trained with each loss of :data:`LOSSES` (same variant,
    seed and validation split), so only the loss differs."""
    train_genes, responses, test_genes, test = gdsc_fold_inputs(fold)
    tables = []
    for loss in LOSSES:
        network = MultiTaskNetwork(dataclasses.replace(VARIANTS[ORDERING_VARIANT], loss=loss), seed).fit(
            train_genes, responses
        )
        tables.append(_with_predictions(test, f"multitask_{loss}", fold, as_pairs(network.predict(test_genes), test)))
    return pd.concat(tables, ignore_index=True)


def pretrained_model(target: str, exclude: str | None = None) -> TrainedModel:
    """tDNN pre-trained on every GDSC1 pair but those of the lines :func:`held_out_lines` names, cached; the
    min-max model on every pair is the committed one (the zero-shot bundle carries it, same budget and seed)."""
    if target == "minmax" and exclude is None:
        return pretrained_from_zeroshot_bundle(models_dir() / bundle_name(TARGET_COHORT, ARCHITECTURE, "zeroshot"))[0]
    folder = cache_dir() / "within_drug" / f"pretrained_tdnn_{target}_without_{exclude or 'none'}"
    if not (folder / "manifest.json").is_file():
        gdsc = cohort(PRETRAINING_COHORT)
        if exclude is not None:
            held_out = held_out_lines(exclude)
            gdsc = dataclasses.replace(
                gdsc,
                responses=gdsc.responses[~gdsc.responses["sample"].isin(held_out)],
                expression=gdsc.expression[~gdsc.expression.index.isin(held_out)],
            )
        settings = dataclasses.replace(PRETRAINING, target=target)
        trained = pretrain(ARCHITECTURE, gdsc, load_panel(ARCHITECTURE), settings, progress=None)
        save_pretrained(trained, gdsc, settings, {"excluded": exclude}, folder)
    return load_pretrained(folder)[0]


def organoid_cross_validation(pretrained: TrainedModel, target: str, seed: int, loss: str = "mse") -> pd.DataFrame:
    """Zero-shot, fine-tuned and from-scratch tDNN on the colorectal organoids' 5 cell cold-start folds; with an
    ordering ``loss`` (:mod:`core.training.ordering`) only the two trained here, named with the loss."""
    gdsc, organoids = cohort(PRETRAINING_COHORT), cohort(TARGET_COHORT)
    settings = dataclasses.replace(TARGET_TRAINING, seed=seed, target=target, loss=loss)
    name = f"tdnn_{target}" if loss == "mse" else f"tdnn_{target}_{loss}"
    tables = []
    for fold in range(N_FOLDS):
        train, test = train_test(TARGET_COHORT, CELL, fold, N_FOLDS)
        models = {}
        if loss == "mse":  # the pre-trained model as it is: trained with the GDSC loss, whatever this run's
            models["zeroshot"] = zero_shot(pretrained, gdsc, organoids.expression.loc[train["sample"].unique()])
        models["finetuned"] = finetune(pretrained, gdsc, organoids, train, settings, progress=None)
        models["scratch"] = train_from_scratch(
            ARCHITECTURE, load_panel(ARCHITECTURE), gdsc, organoids, train, settings, progress=None
        )
        for training, trained in models.items():
            y_pred = trained.predict_pairs(organoids.expression, test, organoids.drug_smiles)
            tables.append(_with_predictions(test, f"{name}_{training}", fold, y_pred))
    return pd.concat(tables, ignore_index=True)


def external_test(target: str, seed: int = 0) -> pd.DataFrame:
    """GDSC's colorectal lines (drugs shared with the organoids) predicted by tDNN pre-trained without them,
    as it is and after fine-tuning on every organoid; one 'fold'."""
    gdsc, organoids = cohort(PRETRAINING_COHORT), cohort(TARGET_COHORT)
    pretrained = pretrained_model(target, EXTERNAL_LABEL)
    inputs = load_inputs()
    label = inputs.gdsc_pairs["sample"].map(inputs.cell_lines["tcga_label"])
    test = inputs.gdsc_pairs[label == EXTERNAL_LABEL].reset_index(drop=True)
    settings = dataclasses.replace(TARGET_TRAINING, seed=seed, target=target)
    pairs = organoids.usable_pairs()[["sample", "drug", "value"]]
    tuned = finetune(pretrained, gdsc, organoids, pairs, settings, progress=None)
    on_lines = dataclasses.replace(tuned, domain=REFERENCE_BATCH)  # the lines are GDSC samples: no ComBat shift
    return pd.concat(
        [
            _with_predictions(
                test, f"tdnn_{target}_zeroshot", 0, pretrained.predict_pairs(gdsc.expression, test, gdsc.drug_smiles)
            ),
            _with_predictions(
                test, f"tdnn_{target}_finetuned", 0, on_lines.predict_pairs(gdsc.expression, test, gdsc.drug_smiles)
            ),
        ],
        ignore_index=True,
    )


def cached(path: Path, compute) -> pd.DataFrame:
    """``compute()`` once; later runs read the parquet file it was saved to."""
    if path.is_file():
        return pd.read_parquet(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = compute()
    table.to_parquet(path, index=False)
    return table
