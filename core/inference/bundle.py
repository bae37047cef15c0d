"""Model bundles: everything needed to predict with a trained model, in one folder, verified on load.

Layout of ``trained_models/<name>/``::

    manifest.json                 schema version, model, training, gene panel, data hashes, settings,
                                  versions, metrics, and the SHA-256 of every other file (see manifest.py)
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

A bundle is first built as a map of file names to bytes (:func:`bundle_files`) and read back from one
(:func:`bundle_from_files`); a folder on disk and a zip archive in memory are two ways of holding that
map. The dashboard uses the zip form for bundles trained on a user's cohort, so they never touch the
disk: :func:`bundles_to_zip_bytes` for the download, :func:`bundles_from_zip_bytes` to load it again,
both with the same hash verification as a folder.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.export import restore_formulas, to_safe_csv
from core.inference.manifest import SCHEMA_VERSION, BundleError, Manifest, MemberFiles, parse_manifest

if TYPE_CHECKING:  # Keras and TensorFlow load only where models are read or written (see _load_member)
    import keras

    from core.inference.model import TrainedModel

MANIFEST = "manifest.json"
# A tDNN bundle is about 31 MB; a zip claiming far more once unpacked is not a bundle archive.
MAX_ZIP_UNPACKED_BYTES = 400 * 1024**2
MAX_ZIP_ENTRIES = 2_000
MEMBER_FILES = ("architecture.json", "preprocessing.json", "drug_inputs.npy")


@dataclass
class BundleMember:
    """One fitted model of a bundle and its drugs' encoded inputs (rows follow ``ModelBundle.drugs``)."""

    trained: TrainedModel
    drug_inputs: np.ndarray


@dataclass
class ModelBundle:
    name: str
    manifest: Manifest
    drugs: pd.DataFrame  # columns: drug, smiles, gdsc_name
    members: list[BundleMember]
    reference_predictions: pd.DataFrame  # sample, drug, y_pred, y_true (NaN if not screened), fold
    benchmark: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def genes(self) -> list[str]:
        return self.members[0].trained.expression.genes

    @property
    def response_unit(self) -> str:
        """Label of the predicted values ("AUC", "ln IC50", "1 - AUC", ...) for tables, axes and reports."""
        return self.manifest.response_unit or unit_of_metric(self.manifest.response_metric)


def unit_of_metric(metric: str) -> str:
    """Display label of a response metric key ("auc", "ln_ic50"; a trailing remark such as "(GDSC scale)" is
    ignored). Bundles written before manifests carried ``response_unit`` get their label from here."""
    key = metric.split()[0] if metric.strip() else "auc"
    return {"auc": "AUC", "ln_ic50": "ln IC50"}.get(key, key)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- writing


def bundle_files(bundle: ModelBundle, shared_weights: bool = False) -> dict[str, bytes]:
    """Every file of ``bundle`` (relative POSIX path -> bytes), the manifest with their hashes included.

    With ``shared_weights`` every member must hold the same weights, stored once (zero-shot folds
    differ only in their ComBat fit).
    """
    files = {
        "drugs.csv": to_safe_csv(bundle.drugs, index=False).encode("utf-8"),
        "reference_predictions.csv.gz": _gzipped_csv(bundle.reference_predictions),
    }
    if not bundle.benchmark.empty:
        files["benchmark.csv"] = to_safe_csv(bundle.benchmark, index=False, float_format="%.6g").encode("utf-8")
    members = []
    for k, member in enumerate(bundle.members):
        weights_name = "weights/shared.npz" if shared_weights else f"weights/member_{k}.npz"
        if not shared_weights or k == 0:
            files[weights_name] = _weights_bytes(member.trained.model)
        files[f"members/{k}/architecture.json"] = member.trained.model.to_json().encode("utf-8")
        files[f"members/{k}/preprocessing.json"] = json.dumps(_preprocessing_state(member.trained)).encode("utf-8")
        files[f"members/{k}/drug_inputs.npy"] = _npy_bytes(member.drug_inputs)
        members.append(MemberFiles(f"members/{k}", weights_name))
    if list(bundle.manifest.genes) != bundle.genes:
        raise ValueError(f"The manifest of {bundle.name} names another gene panel than its models read")
    manifest = replace(
        bundle.manifest,
        schema_version=SCHEMA_VERSION,
        name=bundle.name,
        members=tuple(members),
        files={name: _sha256(data) for name, data in sorted(files.items())},
    )
    files[MANIFEST] = json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode("utf-8")
    return files


def save_bundle(bundle: ModelBundle, folder: Path, shared_weights: bool = False) -> None:
    """Write ``bundle`` to ``folder`` (replacing its files); see :func:`bundle_files`."""
    for name, data in bundle_files(bundle, shared_weights).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def bundles_to_zip_bytes(bundles: list[ModelBundle]) -> bytes:
    """A zip archive (built in memory, nothing written to disk) with one folder per bundle, named after it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for bundle in bundles:
            for name, data in bundle_files(bundle).items():
                archive.writestr(f"{bundle.name}/{name}", data)
    return buffer.getvalue()


def round_to_storage_precision(model: keras.Model) -> None:
    """Round the float weights of ``model`` to float16 in place, so that the model a build script
    evaluates is exactly the one a bundle stores (loading casts back to float32 losslessly)."""
    model.set_weights([w.astype(np.float16).astype(w.dtype) if w.dtype.kind == "f" else w for w in model.get_weights()])


def _preprocessing_state(trained: TrainedModel) -> dict[str, Any]:
    return {
        "model_name": trained.architecture,
        "domain": trained.domain,
        "expression": trained.expression.to_dict(),
        "drugs": trained.drugs.to_dict(),
        "target": trained.target.to_dict(),
    }


def _gzipped_csv(table: pd.DataFrame) -> bytes:
    text = to_safe_csv(table, index=False, float_format="%.6g").encode("utf-8")
    return gzip.compress(text, mtime=0)  # mtime 0: the same table always gives the same bytes and hash


def _weights_bytes(model: keras.Model) -> bytes:
    arrays = {
        f"w{i:03d}": w.astype(np.float16) if w.dtype.kind == "f" else w for i, w in enumerate(model.get_weights())
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


# ---------------------------------------------------------------- reading


def _read_folder(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _parsed_manifest(data: bytes, label: str, read: Callable[[str], bytes]) -> Manifest:
    """The manifest in ``data``; ``read(path)`` gives another file of the bundle (a schema-1 panel's source)."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"The {MANIFEST} of {label} is not valid JSON, so it is not a model bundle.") from error

    def member_panel(directory: str) -> list[str]:
        path = f"{directory}/preprocessing.json"
        try:
            return list(json.loads(read(path))["expression"]["genes"])
        except (KeyError, OSError, TypeError, ValueError) as error:
            raise BundleError(f"Bundle {label} has no readable {path}, so its gene panel is unknown.") from error

    return parse_manifest(raw, label, member_panel)


def _verified_manifest(files: Mapping[str, bytes], label: str, advice: str) -> Manifest:
    """The manifest of a file map, after checking its schema and fields and every file's hash."""
    if MANIFEST not in files:
        raise BundleError(f"{label} is not a model bundle: it has no {MANIFEST}.")
    manifest = _parsed_manifest(files[MANIFEST], label, lambda path: files[path])
    listed = manifest.files
    present = set(files) - {MANIFEST}
    problems = [f"missing {name}" for name in sorted(set(listed) - present)]
    problems += [f"unlisted file {name}" for name in sorted(present - set(listed))]
    problems += [
        f"{name} was modified" for name in sorted(set(listed) & present) if _sha256(files[name]) != listed[name]
    ]
    problems += [f"member file {name} not listed" for name in _member_files(manifest) if name not in listed]
    if problems:
        raise BundleError(
            f"Bundle {label} does not match its manifest ({'; '.join(problems[:5])}). It was altered "
            f"after it was built; {advice}."
        )
    return manifest


def _member_files(manifest: Manifest) -> list[str]:
    """The files loading the members reads: a hand-edited member entry fails the check, not the loading."""
    return [f"{m.directory}/{name}" for m in manifest.members for name in MEMBER_FILES] + [
        m.weights for m in manifest.members
    ]


def read_manifest(folder: Path) -> Manifest:
    """The manifest, after checking its schema and fields and every file's hash."""
    if not (folder / MANIFEST).is_file():
        raise BundleError(f"{folder.name} is not a model bundle: it has no {MANIFEST}.")
    return _verified_manifest(_read_folder(folder), folder.name, "rebuild it or restore it from the repository")


@dataclass(frozen=True)
class BundleCheck:
    """The bundles of a folder, each checked in full: the manifests of the usable ones, and for every other one
    the plain reason it cannot be used."""

    usable: dict[str, Manifest]
    unusable: dict[str, str]


def check_bundles(folder: Path) -> BundleCheck:
    """Check every bundle folder directly below ``folder`` (schema, fields, every file's hash: about 0.4 s for the
    committed 110 MB). A damaged bundle is reported, never raised, so it cannot hide its intact siblings; a bundle
    is read again only after one of its files changed, so checking on every page run costs a few stat calls."""
    usable, unusable = {}, {}
    for candidate in _bundle_folders(folder):
        try:
            outcome = _checked(str(candidate), _stamps(candidate))
        except OSError as error:  # a file removed while being listed
            outcome = _unreadable(candidate.name, error)
        if isinstance(outcome, Manifest):
            usable[candidate.name] = outcome
        else:
            unusable[candidate.name] = outcome
    return BundleCheck(usable, unusable)


def _bundle_folders(folder: Path) -> list[Path]:
    """Folders holding a manifest or members: a bundle that lost its manifest is reported, not skipped."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and ((p / MANIFEST).exists() or (p / "members").is_dir()))


def _stamps(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, size, modification time) of every file below ``folder``: differs once a file is edited or replaced,
    added or removed."""
    stamps = []
    for root, _, names in os.walk(folder):
        for name in names:
            status = os.stat(os.path.join(root, name))
            stamps.append((os.path.join(root, name), status.st_size, status.st_mtime_ns))
    return tuple(sorted(stamps))


@functools.lru_cache(maxsize=64)
def _checked(folder: str, stamps: tuple[tuple[str, int, int], ...]) -> Manifest | str:
    """The verified manifest of ``folder`` or why it cannot be used, once per version of its files (``stamps``)."""
    try:
        return read_manifest(Path(folder))
    except BundleError as error:
        return str(error)
    except OSError as error:
        return _unreadable(Path(folder).name, error)


def _unreadable(name: str, error: OSError) -> str:
    return f"Bundle {name} could not be read ({error.strerror or type(error).__name__}); check its files' permissions."


def list_bundles(folder: Path) -> dict[str, Manifest]:
    """Bundle name -> manifest (file hashes unverified, for menus) of every bundle folder directly below ``folder``."""
    manifests = sorted(folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []
    return {path.parent.name: unverified_manifest(path.parent) for path in manifests}


def unverified_manifest(folder: Path) -> Manifest:
    """The manifest of the bundle in ``folder``, its fields checked but not the hashes of the other files."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BundleError(f"{folder} is not a model bundle: it has no {MANIFEST}.")
    status = path.stat()
    return _unverified_manifest(str(path), status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=64)
def _unverified_manifest(path: str, modified_ns: int, size: int) -> Manifest:
    """Parsed once per version of the file: menus list the bundles on every page run, and a schema-1
    manifest's panel costs a parse of a 160 KB preprocessing file."""
    folder = Path(path).parent
    return _parsed_manifest(Path(path).read_bytes(), folder.name, lambda name: (folder / name).read_bytes())


def load_bundle(folder: Path) -> ModelBundle:
    """Load and verify a bundle written by :func:`save_bundle`; whatever is wrong with it, a plain BundleError."""
    if not (folder / MANIFEST).is_file():
        raise BundleError(f"{folder.name} is not a model bundle: it has no {MANIFEST}.")
    try:
        files = _read_folder(folder)
    except OSError as error:
        raise BundleError(_unreadable(folder.name, error)) from error
    return _readable_bundle(files, folder.name, "rebuild it or restore it from the repository")


def bundle_from_files(files: Mapping[str, bytes], label: str, advice: str) -> ModelBundle:
    """The bundle held by a file map (see :func:`bundle_files`), verified against its manifest first.

    ``label`` names the bundle in error messages, ``advice`` says what to do when it was altered.
    """
    manifest = _verified_manifest(files, label, advice)
    networks: dict[tuple[bytes, str], keras.Model] = {}
    members = [_load_member(files, entry, networks) for entry in manifest.members]
    return ModelBundle(
        name=manifest.name,
        manifest=manifest,
        drugs=restore_formulas(pd.read_csv(io.BytesIO(files["drugs.csv"]))),
        members=members,
        reference_predictions=restore_formulas(
            pd.read_csv(io.BytesIO(files["reference_predictions.csv.gz"]), compression="gzip", dtype={"sample": str})
        ),
        benchmark=restore_formulas(pd.read_csv(io.BytesIO(files["benchmark.csv"])))
        if "benchmark.csv" in files
        else pd.DataFrame(),
    )


def bundles_from_zip_bytes(data: bytes) -> list[ModelBundle]:
    """Every bundle in a zip made by :func:`bundles_to_zip_bytes` (or a zipped bundle folder), read in memory.

    Raises :class:`BundleError` with a plain reason for anything else: not a zip, unsafe or oversized
    entries, no bundle inside, or a bundle altered since it was built (hashes are checked as for a folder).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise BundleError(
            "The file is not a zip archive. Upload the .zip downloaded from the fine-tuning page."
        ) from error
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > MAX_ZIP_ENTRIES or sum(info.file_size for info in entries) > MAX_ZIP_UNPACKED_BYTES:
            raise BundleError("The zip archive is far larger than a model bundle once unpacked; it was not read.")
        unsafe = [info.filename for info in entries if _unsafe_name(info.filename)]
        if unsafe:
            raise BundleError(f"The zip archive holds entries with unsafe paths ({unsafe[0]}); it was not read.")
        try:
            contents = {info.filename: archive.read(info) for info in entries}
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise BundleError("The zip archive is damaged and could not be read. Download the bundle again.") from error
    contents = {name: blob for name, blob in contents.items() if not _archiver_clutter(name)}
    roots = sorted(str(PurePosixPath(name).parent) for name in contents if PurePosixPath(name).name == MANIFEST)
    if not roots:
        raise BundleError(f"The zip archive holds no model bundle (no {MANIFEST} inside).")
    bundles = []
    for root in roots:
        prefix = "" if root == "." else f"{root}/"
        files = {name[len(prefix) :]: blob for name, blob in contents.items() if name.startswith(prefix)}
        label = "in the zip archive" if root == "." else PurePosixPath(root).name
        bundles.append(_readable_bundle(files, label, "download it again from the session that trained it"))
    return bundles


def _readable_bundle(files: Mapping[str, bytes], label: str, advice: str) -> ModelBundle:
    """:func:`bundle_from_files`, whatever the files hold: a plain BundleError.

    Files whose hashes match can still be malformed (hand-made archives, a hand-edited manifest, whose own
    bytes carry no hash); JSON, CSV, NumPy and Keras raise many exception types on bad content, and the user
    must see one plain message.
    """
    try:
        return bundle_from_files(files, label, advice)
    except BundleError:
        raise
    except Exception as error:  # noqa: BLE001
        raise BundleError(
            f"Bundle {label} could not be read ({type(error).__name__}): it is not a bundle written by this "
            f"dashboard; {advice}."
        ) from error


def _archiver_clutter(name: str) -> bool:
    """Files macOS adds when a folder is zipped again by hand (never part of a bundle)."""
    return name.startswith("__MACOSX/") or PurePosixPath(name).name == ".DS_Store"


def _unsafe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return path.is_absolute() or ".." in path.parts or "\\" in name


def _load_member(
    files: Mapping[str, bytes], entry: MemberFiles, networks: dict[tuple[bytes, str], keras.Model]
) -> BundleMember:
    """One member: its network (:func:`_network`), preprocessing and encoded drugs."""
    from core.inference.drug_encoding import encoder_from_dict
    from core.inference.expression import ExpressionPreprocessor
    from core.inference.model import TrainedModel
    from core.inference.target import MinMaxTargetScaler

    directory = entry.directory
    state = json.loads(files[f"{directory}/preprocessing.json"])
    trained = TrainedModel(
        architecture=state["model_name"],
        model=_network(files, entry, networks),
        expression=ExpressionPreprocessor.from_dict(state["expression"]),
        drugs=encoder_from_dict(state["drugs"]),
        target=MinMaxTargetScaler.from_dict(state["target"]),
        fit_result=None,
        domain=state["domain"],
    )
    drug_inputs = np.load(io.BytesIO(files[f"{directory}/drug_inputs.npy"]), allow_pickle=False)
    return BundleMember(trained, drug_inputs)


def _network(
    files: Mapping[str, bytes], entry: MemberFiles, networks: dict[tuple[bytes, str], keras.Model]
) -> keras.Model:
    """The member's Keras network, built once per architecture and weights file of the bundle (``networks``): the
    members of a zero-shot bundle, which differ only in their ComBat fit, share one network, as when it was built
    (a fifth of the loading, and explanations trace its gradients once instead of five times)."""
    # Imported here, not at module level: pages that only read a bundle's manifest and scores (performance,
    # about, home) then never import TensorFlow, the largest part of a cold page visit (about 8 s).
    import keras

    import core.models.attention  # noqa: F401  (registers the custom layer that model_from_json needs)

    architecture = files[f"{entry.directory}/architecture.json"]
    key = (architecture, entry.weights)
    if key not in networks:
        model = keras.models.model_from_json(architecture.decode("utf-8"))
        with np.load(io.BytesIO(files[entry.weights]), allow_pickle=False) as stored:
            weights = [stored[name] for name in sorted(stored.files)]
        model.set_weights([w.astype(np.float32) if w.dtype.kind == "f" else w for w in weights])
        networks[key] = model
    return networks[key]
