"""A bundle's manifest as one typed, frozen record: what the bundle is, how it was built, which files it holds.

``manifest.json`` is this record written as JSON (:meth:`Manifest.to_json`) and read back with
:func:`parse_manifest`, which names what is wrong (schema version, missing or unknown fields, wrong
types) instead of failing later on a missing key.

Schema 2 carries the gene panel the bundle's models read, so a page learns it without loading Keras.
Schema-1 manifests (the committed bundles were written before) are still read: their panel comes from
the first member's fitted preprocessing (``members/0/preprocessing.json``, plain JSON), which every
member shares.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 2
PANEL_IN_MANIFEST_SINCE = 2
READABLE_VERSIONS = (1, 2)
# Attribute -> JSON key, where the two differ ("benchmark" would read as the benchmark table).
_JSON_KEYS = {"architecture": "model_name", "benchmark_note": "benchmark"}  # names kept from schema 1


class BundleError(RuntimeError):
    """A bundle that cannot be used: missing, from another schema version, or altered since it was built."""


@dataclass(frozen=True)
class MemberFiles:
    """Where one member's files lie inside the bundle."""

    directory: str
    weights: str


@dataclass(frozen=True)
class CrossValidation:
    """How the bundle's members were cross-validated: each reference sample's fold held it out."""

    split: str
    n_folds: int
    folds: dict[str, int]


@dataclass(frozen=True)
class Manifest:
    """Everything ``manifest.json`` says. Optional fields are None where a kind of bundle has no such fact
    (a pre-trained model has no cross-validation, a panel bundle no scores); :meth:`to_json` leaves them out."""

    name: str
    architecture: str
    training: str  # "pretrained", "zeroshot", "finetuned" or "scratch"
    target_cohort: str
    response_metric: str
    lower_is_sensitive: bool
    data_files: dict[str, str]  # data file -> SHA-256
    created: str
    genes: tuple[str, ...]  # the gene panel every member reads, in model input order
    schema_version: int = SCHEMA_VERSION
    members: tuple[MemberFiles, ...] = ()  # filled in when the bundle is written
    files: dict[str, str] = field(default_factory=dict)  # every other file -> SHA-256, filled in when written
    response_unit: str | None = None
    n_genes: int | None = None
    n_drugs: int | None = None
    n_reference_samples: int | None = None
    cross_validation: CrossValidation | None = None
    settings: dict[str, Any] | None = None
    pretraining: dict[str, Any] | None = None  # the pre-trained model's manifest record (provenance)
    fold_training: tuple[dict[str, Any] | None, ...] | None = None
    float16_max_abs_change_on_training_pairs: float | None = None
    metrics: dict[str, dict[str, float]] | None = None
    versions: dict[str, str] | None = None
    build_seconds: float | None = None
    cohort: dict[str, Any] | None = None  # a user's own cohort: label, source, provenance
    drug_panel_cohort: str | None = None
    benchmark_note: str | None = None  # why a bundle has no scores
    fit: dict[str, Any] | None = None  # a pre-trained model's training run

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``manifest.json`` holds (fields that are None left out)."""
        return {
            key: _json_value(getattr(self, name)) for name, key in _keys().items() if getattr(self, name) is not None
        }

    def provenance(self) -> dict[str, Any]:
        """What a bundle built from this one records about it: the manifest without its files and panel."""
        return {key: value for key, value in self.to_json().items() if key not in ("files", "members", "genes")}


def parse_manifest(raw: object, label: str, member_panel: Callable[[str], list[str]]) -> Manifest:
    """The manifest of bundle ``label`` from its parsed JSON; :class:`BundleError` saying what is wrong otherwise.

    ``member_panel(directory)`` reads the genes of the member stored in ``directory``: the panel of a
    schema-1 manifest, which did not record it.
    """
    if not isinstance(raw, dict):
        raise BundleError(f"The manifest of {label} is not a JSON object, so it is not a model bundle.")
    version = raw.get("schema_version")
    if type(version) is not int or version not in READABLE_VERSIONS:  # True == 1 and 1.0 == 1 are no versions
        raise BundleError(
            f"Bundle {label} has schema version {version}, this code reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}. Rebuild it with `python -m training_scripts.build.build_bundles`."
        )
    names, hints = _names(), _hints()
    unknown = sorted(set(raw) - set(names))
    required = {key for key, name in names.items() if _is_required(name)}
    if version < PANEL_IN_MANIFEST_SINCE:
        required.discard("genes")
    missing = sorted(required - set(raw))
    if unknown or missing:
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise BundleError(
            f"The manifest of {label} does not have the fields of schema version {version} "
            f"({'; '.join(problems)}). Rebuild the bundle with this code."
        )
    values = {}
    for key, value in raw.items():
        name = names[key]
        try:
            values[name] = _typed(value, hints[name])
        except (TypeError, ValueError) as error:
            raise BundleError(f"The manifest of {label} has a malformed field {key!r}: {error}.") from error
    if "genes" not in values:
        members = values.get("members") or ()
        if not members:
            raise BundleError(f"The manifest of {label} lists no members, so its gene panel is unknown.")
        values["genes"] = tuple(member_panel(members[0].directory))
    return Manifest(**values)


# ---------------------------------------------------------------- JSON <-> typed values


@functools.cache
def _keys() -> dict[str, str]:
    """Attribute -> JSON key, in field order."""
    return {f.name: _JSON_KEYS.get(f.name, f.name) for f in dataclasses.fields(Manifest)}


@functools.cache
def _names() -> dict[str, str]:
    """JSON key -> attribute."""
    return {key: name for name, key in _keys().items()}


@functools.cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Manifest)


def _is_required(name: str) -> bool:
    """Every field without a default, and the ones a written manifest always has."""
    spec = Manifest.__dataclass_fields__[name]
    has_default = spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING
    return not has_default or name in ("schema_version", "members", "files")


def _json_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def _typed(value: Any, hint: Any) -> Any:
    """``value`` (parsed JSON) as type ``hint``; TypeError/ValueError naming what was expected otherwise."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        (inner,) = [argument for argument in arguments if argument is not type(None)]
        return _typed(value, inner)
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return tuple(_typed(item, arguments[0]) for item in value)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        expected = {f.name for f in dataclasses.fields(hint)}
        if set(value) != expected:
            raise ValueError(f"expected the keys {sorted(expected)}, got {sorted(value)}")
        nested = typing.get_type_hints(hint)
        return hint(**{key: _typed(item, nested[key]) for key, item in value.items()})
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"expected a number, got {type(value).__name__}")
        return value
    if hint is Any:
        return value
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise TypeError(f"expected {hint.__name__}, got {type(value).__name__}")
    return value
