"""Drug-response models: tDNN, ConvNN and PaccMann, built by name, plus the paper's transfer step.

Every model takes a dict of named inputs (``genes`` and either ``drug_features`` or ``smiles_tokens``)
and returns one linear unit, the min-max scaled response, from a layer named ``response``.

The configs and :data:`SPECS` import without Keras; the rest loads Keras on first use, so the dashboard
reads architecture labels and panels without paying for it.
"""

from importlib import import_module
from typing import Any

from core.models.config import ConvNNConfig, ModelConfig, PaccMannConfig, TDNNConfig
from core.models.specs import SPECS, ArchitectureSpec

_KERAS_BACKED = {
    "ContextualAttention": "core.models.attention",
    "DRUG_FEATURES": "core.models.blocks",
    "GENES": "core.models.blocks",
    "OUTPUT_LAYER_NAME": "core.models.blocks",
    "SMILES_TOKENS": "core.models.blocks",
    "build_model": "core.models.registry",
    "config_class": "core.models.registry",
    "copy_model": "core.models.copying",
    "replace_output_layer": "core.models.transfer",
}


def __getattr__(name: str) -> Any:
    if name not in _KERAS_BACKED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_KERAS_BACKED[name]), name)


__all__ = [
    "ArchitectureSpec",
    "ConvNNConfig",
    "ModelConfig",
    "PaccMannConfig",
    "SPECS",
    "TDNNConfig",
    *_KERAS_BACKED,
]
