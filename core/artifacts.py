"""Model bundles: everything needed to predict with a trained model, in one folder, verified on load.

Layout of ``trained_models/<name>/``::

    manifest.json                 schema version, model, training, data hashes, settings, versions,
                                  metrics, and the SHA-256 of every other file
    drugs.csv                     the drugs the bundle ranks: name, canonical SMILES, GDSC name
    members/<k>/architecture.json Keras model config (model.to_json())
    members/<k>/preprocessing.json panel, ComBat parameters, drug encoder, target scaler
    members/<k>/drug_inputs.npy   encoded inputs of every bundle drug, so prediction needs no RDKit
    weights/<file>.npz            float16 weights; members may share one file (zero-shot folds)
    reference_predictions.csv.gz  each reference sample predicted by a member that never saw it
    benchmark.csv                 cross-validated scores of the bundle and the naive baselines

A bundle holds several members (the cross-validation fold models): predictions are their mean and the
spread between them is the uncertainty shown to users. Weights are stored as float16 to keep the
repository small; the build script reports how much that changes predictions.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

import core.models  # noqa: F401  (registers the custom layers that model_from_json needs)
from core.training.drug_encoding import encoder_from_dict
from core.training.expression import ExpressionPreprocessor
from core.training.pipeline import TrainedModel
from core.training.target import MinMaxTargetScaler

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


class BundleError(RuntimeError):
    """A bundle that cannot be used: missing, from another schema version, or altered since it was built."""


@dataclass
class BundleMember:
    """One fitted model of a bundle and its drugs' encoded inputs (rows follow ``ModelBundle.drugs``)."""

    trained: TrainedModel
    drug_inputs: np.ndarray


@dataclass
class ModelBundle:
    name: str
    manifest: dict[str, Any]
    drugs: pd.DataFrame  # columns: drug, smiles, gdsc_name
    members: list[BundleMember]
    reference_predictions: pd.DataFrame  # sample, drug, y_pred, y_true (NaN if not screened), fold
    benchmark: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def genes(self) -> list[str]:
        return self.members[0].trained.expression.genes


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_bundle(bundle: ModelBundle, folder: Path, shared_weights: bool = False) -> None:
    """Write ``bundle`` to ``folder`` (replacing its files) and finish the manifest with file hashes.

    With ``shared_weights`` every member must hold the same weights, stored once (zero-shot folds
    differ only in their ComBat fit).
    """
    folder.mkdir(parents=True, exist_ok=True)
    bundle.drugs.to_csv(folder / "drugs.csv", index=False)
    bundle.reference_predictions.to_csv(folder / "reference_predictions.csv.gz", index=False, float_format="%.6g")
    if not bundle.benchmark.empty:
        bundle.benchmark.to_csv(folder / "benchmark.csv", index=False, float_format="%.6g")
    members = []
    for k, member in enumerate(bundle.members):
        member_dir = folder / "members" / str(k)
        member_dir.mkdir(parents=True, exist_ok=True)
        weights_name = "weights/shared.npz" if shared_weights else f"weights/member_{k}.npz"
        if not shared_weights or k == 0:
            _save_weights(member.trained.model, folder / weights_name)
        (member_dir / "architecture.json").write_text(member.trained.model.to_json())
        (member_dir / "preprocessing.json").write_text(json.dumps(_preprocessing_state(member.trained)))
        np.save(member_dir / "drug_inputs.npy", member.drug_inputs, allow_pickle=False)
        members.append({"directory": f"members/{k}", "weights": weights_name})
    manifest = dict(bundle.manifest, schema_version=SCHEMA_VERSION, name=bundle.name, members=members)
    manifest["files"] = {
        str(p.relative_to(folder)): sha256_of(p) for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest, after checking the schema version and every file's hash."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BundleError(f"{folder} is not a model bundle: it has no {MANIFEST}.")
    manifest = json.loads(path.read_text())
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(
            f"Bundle {folder.name} has schema version {manifest.get('schema_version')}, this code reads "
            f"version {SCHEMA_VERSION}. Rebuild it with `python -m training_scripts.build_bundles`."
        )
    listed = manifest.get("files", {})
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    problems = [f"missing {name}" for name in sorted(set(listed) - present)]
    problems += [f"unlisted file {name}" for name in sorted(present - set(listed))]
    problems += [f"{name} was modified" for name in sorted(set(listed) & present) if sha256_of(folder / name) != listed[name]]
    if problems:
        raise BundleError(
            f"Bundle {folder.name} does not match its manifest ({'; '.join(problems[:5])}). It was altered "
            "after it was built; rebuild it or restore it from the repository."
        )
    return manifest


def list_bundles(folder: Path) -> dict[str, dict[str, Any]]:
    """Bundle name -> manifest (unverified, for menus) of every bundle folder directly below ``folder``."""
    manifests = sorted(folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []
    return {path.parent.name: json.loads(path.read_text()) for path in manifests}


def load_bundle(folder: Path) -> ModelBundle:
    """Load and verify a bundle written by :func:`save_bundle`."""
    manifest = read_manifest(folder)
    drugs = pd.read_csv(folder / "drugs.csv")
    members = [_load_member(folder, entry, manifest) for entry in manifest["members"]]
    benchmark_path = folder / "benchmark.csv"
    return ModelBundle(
        name=manifest["name"],
        manifest=manifest,
        drugs=drugs,
        members=members,
        reference_predictions=pd.read_csv(folder / "reference_predictions.csv.gz", dtype={"sample": str}),
        benchmark=pd.read_csv(benchmark_path) if benchmark_path.is_file() else pd.DataFrame(),
    )


def _preprocessing_state(trained: TrainedModel) -> dict[str, Any]:
    return {
        "model_name": trained.model_name,
        "domain": trained.domain,
        "expression": trained.expression.to_dict(),
        "drugs": trained.drugs.to_dict(),
        "target": trained.target.to_dict(),
    }


def round_to_storage_precision(model: keras.Model) -> None:
    """Round the float weights of ``model`` to float16 in place, so that the model a build script
    evaluates is exactly the one a bundle stores (loading casts back to float32 losslessly)."""
    model.set_weights([w.astype(np.float16).astype(w.dtype) if w.dtype.kind == "f" else w for w in model.get_weights()])


def _save_weights(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"w{i:03d}": w.astype(np.float16) if w.dtype.kind == "f" else w for i, w in enumerate(model.get_weights())}
    np.savez(path, **arrays)


def _load_member(folder: Path, entry: dict[str, str], manifest: dict[str, Any]) -> BundleMember:
    member_dir = folder / entry["directory"]
    state = json.loads((member_dir / "preprocessing.json").read_text())
    model = keras.models.model_from_json((member_dir / "architecture.json").read_text())
    with np.load(folder / entry["weights"]) as stored:
        weights = [stored[key] for key in sorted(stored.files)]
    model.set_weights([w.astype(np.float32) if w.dtype.kind == "f" else w for w in weights])
    trained = TrainedModel(
        model_name=state["model_name"],
        model=model,
        expression=ExpressionPreprocessor.from_dict(state["expression"]),
        drugs=encoder_from_dict(state["drugs"]),
        target=MinMaxTargetScaler.from_dict(state["target"]),
        fit_result=None,
        domain=state["domain"],
    )
    return BundleMember(trained, np.load(member_dir / "drug_inputs.npy", allow_pickle=False))
