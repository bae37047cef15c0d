"""Architectures by name, so training scripts, bundles and the dashboard can pick one from a string."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras

from core.models.config import ConvNNConfig, ModelConfig, PaccMannConfig, TDNNConfig
from core.models.convnn import build_convnn
from core.models.paccmann import build_paccmann
from core.models.tdnn import build_tdnn


@dataclass(frozen=True)
class ModelSpec:
    """How to build one architecture: its config class, its builder and the input sizes it needs."""

    config_class: type[ModelConfig]
    builder: Callable[..., keras.Model]
    dimensions: tuple[str, ...]


MODEL_REGISTRY: dict[str, ModelSpec] = {
    "tdnn": ModelSpec(TDNNConfig, build_tdnn, ("n_drug_features",)),
    "convnn": ModelSpec(ConvNNConfig, build_convnn, ("smiles_length", "vocabulary_size")),
    "paccmann": ModelSpec(PaccMannConfig, build_paccmann, ("smiles_length", "vocabulary_size")),
}


def _spec(name: str) -> ModelSpec:
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}; choose one of {sorted(MODEL_REGISTRY)}") from None


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
    missing = [dimension for dimension in spec.dimensions if sizes[dimension] is None]
    if missing:
        raise ValueError(f"Model {name!r} needs {', '.join(missing)}")
    needed = {dimension: sizes[dimension] for dimension in spec.dimensions}
    return spec.builder(config, n_genes=n_genes, **needed)
