"""Build the bundles of a target cohort: zero-shot, fine-tuned and from-scratch, each cross-validated.

Each bundle's members are the fold models of a cell cold-start cross-validation over the cohort's
organoids; their out-of-fold predictions are the reference cohort for z-scores and the benchmark.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Callable
from functools import partial
from importlib.metadata import PackageNotFoundError, version

import pandas as pd

from core.data.cohort import Cohort
from core.evaluation.cohort_scores import cross_validated_scores
from core.inference.bundle import BundleMember, ModelBundle, round_to_storage_precision, unit_of_metric
from core.inference.manifest import CrossValidation, Manifest
from core.inference.model import TrainedModel
from core.models.config import ModelConfig
from core.study_design import TRAININGS, bundle_name, model_key
from core.training.crossval import cross_validate, sample_folds
from core.training.fit import EpochProgress, TrainingSettings, print_progress
from core.training.protocols import finetune, train_from_scratch, zero_shot

# (fold, None) when a fold starts, (fold, report) after each of its epochs.
FoldProgress = Callable[[int, EpochProgress | None], None]
# Distribution names; TensorFlow is "tensorflow-cpu" here and "tensorflow" on GPU machines.
PACKAGES = (
    ("tensorflow-cpu", "tensorflow"),
    ("keras",),
    ("numpy",),
    ("pandas",),
    ("scikit-learn",),
    ("rdkit",),
    ("mordredcommunity",),
    ("pycombat",),
)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for names in PACKAGES:
        for name in names:
            try:
                versions[names[-1]] = version(name)
                break
            except PackageNotFoundError:
                continue
    return versions


def build_bundle(
    training: str,
    architecture: str,
    genes: list[str],
    gdsc: Cohort,
    cohort: Cohort,
    settings: TrainingSettings,
    n_folds: int,
    config: ModelConfig | None = None,
    pretrained: TrainedModel | None = None,
    pretraining_manifest: dict | None = None,
    progress: FoldProgress | None = None,
) -> ModelBundle:
    """Cross-validate one training of model on ``cohort`` and package the fold models as a bundle.

    ``pretrained`` (and its manifest, for provenance) is needed for the zero-shot and fine-tuned trainings.
    ``progress`` receives fold starts and epochs (the dashboard's progress bar); without it they are
    printed (the training scripts).
    """
    if training not in TRAININGS:
        raise ValueError(f"training must be one of {TRAININGS}")
    if training != "scratch" and pretrained is None:
        raise ValueError(f"A {training} bundle starts from a pre-trained model")
    samples = sorted(set(cohort.usable_pairs()["sample"]))
    folds = sample_folds(samples, n_folds, settings.seed)
    drugs = sorted(d for d, smiles in cohort.drug_smiles.items() if smiles)

    rounding_changes: list[float] = []

    def fit_fold(fold: int, train_pairs: pd.DataFrame) -> TrainedModel:
        if progress is None:
            print(
                f"[{bundle_name(cohort.name, architecture, training)}] fold {fold + 1}/{n_folds}: {len(train_pairs)} training pairs",
                flush=True,
            )
            epoch_progress = print_progress
        else:
            progress(fold, None)
            epoch_progress = partial(progress, fold)
        if training == "zeroshot":
            return zero_shot(pretrained, gdsc, cohort.expression.loc[train_pairs["sample"].unique()])
        if training == "finetuned":
            model = finetune(pretrained, gdsc, cohort, train_pairs, settings, epoch_progress)
        else:
            model = train_from_scratch(architecture, genes, gdsc, cohort, train_pairs, settings, config, epoch_progress)
        rounding_changes.append(_round_weights(model, cohort, train_pairs))
        return model

    models, oof = cross_validate(cohort, folds, fit_fold, drugs)
    smiles = [cohort.drug_smiles[d] for d in drugs]
    members = [BundleMember(model, model.drugs.transform(smiles)) for model in models]
    benchmark = cross_validated_scores(oof, model_key(architecture, training))
    name = bundle_name(cohort.name, architecture, training)
    manifest = Manifest(
        name=name,
        architecture=architecture,
        training=training,
        target_cohort=cohort.name,
        response_metric=cohort.metric,
        lower_is_sensitive=cohort.lower_is_sensitive,
        response_unit=cohort.response_unit or unit_of_metric(cohort.metric),
        genes=tuple(models[0].expression.genes),
        n_genes=len(genes),
        n_drugs=len(drugs),
        n_reference_samples=len(samples),
        cross_validation=CrossValidation(
            split="cell cold-start (folds grouped by organoid)", n_folds=n_folds, folds=folds.to_dict()
        ),
        data_files={**gdsc.data_files, **cohort.data_files},
        settings={"training": settings.to_dict(), "model_config": None if config is None else config.to_dict()},
        pretraining=pretraining_manifest if training != "scratch" else None,
        fold_training=tuple(
            None
            if m.fit_result is None or training == "zeroshot"
            else {
                "epochs_run": m.fit_result.epochs_run,
                "best_epoch": m.fit_result.best_epoch,
                "best_val_loss": m.fit_result.best_val_loss,
            }
            for m in models
        ),
        float16_max_abs_change_on_training_pairs=max(rounding_changes, default=0.0),
        metrics=benchmark.set_index("model").to_dict(orient="index"),
        versions=package_versions(),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    drug_table = pd.DataFrame(
        {
            "drug": drugs,
            "smiles": smiles,
            "gdsc_name": [cohort.drug_gdsc_names.get(d) for d in drugs],
        }
    )
    return ModelBundle(name, manifest, drug_table, members, oof, benchmark)


def _round_weights(model: TrainedModel, cohort: Cohort, pairs: pd.DataFrame) -> float:
    """Round to the bundle's float16 storage; return the largest change of a prediction (response units)."""
    before = model.predict_pairs(cohort.expression, pairs, cohort.drug_smiles)
    round_to_storage_precision(model.model)
    after = model.predict_pairs(cohort.expression, pairs, cohort.drug_smiles)
    return float(abs(after - before).max())
