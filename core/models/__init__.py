"""Drug-response models: tDNN, ConvNN and PaccMann, built by name, plus the paper's transfer step.

Every model takes a dict of named inputs (``genes`` and either ``drug_features`` or ``smiles_tokens``)
and returns one linear unit, the min-max scaled response, from a layer named ``response``.
"""
from core.models.attention import ContextualAttention
from core.models.blocks import DRUG_FEATURES, GENES, OUTPUT_LAYER_NAME, SMILES_TOKENS
from core.models.config import ConvNNConfig, ModelConfig, PaccMannConfig, TDNNConfig
from core.models.copying import copy_model
from core.models.registry import MODEL_REGISTRY, ModelSpec, build_model, config_class
from core.models.transfer import replace_output_layer

__all__ = [
    "ContextualAttention",
    "ConvNNConfig",
    "DRUG_FEATURES",
    "GENES",
    "MODEL_REGISTRY",
    "ModelConfig",
    "ModelSpec",
    "OUTPUT_LAYER_NAME",
    "PaccMannConfig",
    "SMILES_TOKENS",
    "TDNNConfig",
    "build_model",
    "config_class",
    "copy_model",
    "replace_output_layer",
]
