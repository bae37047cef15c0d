"""Save and load a GDSC-pre-trained model as a one-member bundle (the start of zero-shot and fine-tuning)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from core.data.cohort import Cohort
from core.inference.bundle import BundleMember, ModelBundle, load_bundle, save_bundle
from core.inference.manifest import Manifest
from core.inference.model import TrainedModel
from core.training.fit import TrainingSettings


def save_pretrained(trained: TrainedModel, gdsc: Cohort, settings: TrainingSettings, extra: dict, folder: Path) -> None:
    """Write the pre-trained model with its GDSC drug inputs; ``extra`` holds budget and timing facts."""
    drugs = sorted({d for d in gdsc.usable_pairs()["drug"].unique()})
    smiles = [gdsc.drug_smiles[d] for d in drugs]
    result = trained.fit_result
    name = f"pretrained_{trained.architecture}"
    manifest = Manifest(
        name=name,
        architecture=trained.architecture,
        training="pretrained",
        target_cohort=gdsc.name,
        response_metric=gdsc.metric,
        lower_is_sensitive=True,
        genes=tuple(trained.expression.genes),
        data_files=gdsc.data_files,
        settings={"training": settings.to_dict(), **extra},
        fit=None
        if result is None
        else {
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "best_val_loss": result.best_val_loss,
            "seconds": round(result.seconds, 1),
            "val_loss_curve": result.history.get("val_loss"),
        },
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    bundle = ModelBundle(
        name=name,
        manifest=manifest,
        drugs=pd.DataFrame({"drug": drugs, "smiles": smiles, "gdsc_name": drugs}),
        members=[BundleMember(trained, trained.drugs.transform(smiles))],
        reference_predictions=pd.DataFrame(columns=["sample", "drug", "y_pred", "y_true", "fold"]),
    )
    save_bundle(bundle, folder)


def load_pretrained(folder: Path) -> tuple[TrainedModel, dict]:
    """The pre-trained model and its manifest (recorded in every bundle built from it)."""
    bundle = load_bundle(folder)
    if bundle.manifest.training != "pretrained":
        raise ValueError(f"{folder} holds a {bundle.manifest.training} bundle, not a pre-trained model")
    return bundle.members[0].trained, bundle.manifest.provenance()


def pretrained_from_zeroshot_bundle(folder: Path) -> tuple[TrainedModel, dict]:
    """The GDSC-pre-trained network a zero-shot bundle carries (all its members share those weights).

    The committed zero-shot bundles thus ship the pre-trained models, so fine-tuning on a new cohort
    needs no pre-training run. Returns the model (network, panel, GDSC drug encoder and target scaler;
    its ComBat fit belongs to the bundle's cohort and is refitted by ``zero_shot``/``finetune``) and the
    pre-training manifest recorded in the bundle.
    """
    bundle = load_bundle(folder)
    if bundle.manifest.training != "zeroshot":
        raise ValueError(f"{folder} holds a {bundle.manifest.training} bundle, not a zero-shot one")
    return bundle.members[0].trained, bundle.manifest.pretraining or {}
