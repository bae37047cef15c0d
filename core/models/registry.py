"""Architectures built by name from :data:`core.models.specs.SPECS`, so callers pick one from a string."""

from __future__ import annotations

from importlib import import_module

import keras

from core.models.config import ModelConfig
from core.models.specs import SPECS, ArchitectureSpec

# The input sizes each drug encoder kind fixes in a model.
_DIMENSIONS = {"descriptors": ("n_drug_features",), "tokens": ("smiles_length", "vocabulary_size")}


def _spec(name: str) -> ArchitectureSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}; choose one of {sorted(SPECS)}") from None


def config_class(name: str) -> type[ModelConfig]:
    """The config dataclass of an architecture, e.g. to read one back with ``from_dict``."""
    return _spec(name).config_class


def build_model(
    name: str,
    config: ModelConfig | None = None,
    *,
    n_genes: int,
    n_drug_features: int | None = None,
    smiles_length: int | None = None,
    vocabulary_size: int | None = None,
) -> keras.Model:
    """A new, uncompiled model (compiling is the training code's business).

    ``config`` defaults to the architecture's paper defaults. Sizes an architecture does not use are
    ignored, so callers can pass the same sizes to every architecture; sizes it needs must be given
    (``vocabulary_size`` counts all token ids including the padding id 0).
    """
    spec = _spec(name)
    config = spec.config_class() if config is None else config
    if not isinstance(config, spec.config_class):
        raise TypeError(f"Model {name!r} takes a {spec.config_class.__name__}, got {type(config).__name__}")
    sizes = {
        "n_drug_features": n_drug_features,
        "smiles_length": smiles_length,
        "vocabulary_size": vocabulary_size,
    }
    dimensions = _DIMENSIONS[spec.drug_input]
    missing = [dimension for dimension in dimensions if sizes[dimension] is None]
    if missing:
        raise ValueError(f"Model {name!r} needs {', '.join(missing)}")
    module, _, function = spec.builder.rpartition(".")
    builder = getattr(import_module(module), function)
    return builder(config, n_genes=n_genes, **{dimension: sizes[dimension] for dimension in dimensions})
