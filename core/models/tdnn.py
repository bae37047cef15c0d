"""tDNN (Sakellaropoulos et al. 2019): separate dense subnetworks for the expression profile and the
drug descriptors, joined by a dense head. Prasse et al.'s strongest model on most targets."""

from __future__ import annotations

import keras

from core.models.blocks import DRUG_FEATURES, GENES, SeedStream, dense_stack, float_input, response_layer
from core.models.config import TDNNConfig


def build_tdnn(config: TDNNConfig, *, n_genes: int, n_drug_features: int) -> keras.Model:
    """Inputs ``genes`` (n_genes) and ``drug_features`` (n_drug_features); output ``response``."""
    seeds = SeedStream(config.seed)
    genes = float_input(GENES, n_genes)
    drug_features = float_input(DRUG_FEATURES, n_drug_features)
    gene_code = dense_stack(genes, config.gene_units, prefix="gene", seeds=seeds, dropout=config.dropout)
    drug_code = dense_stack(drug_features, config.drug_units, prefix="drug", seeds=seeds, dropout=config.dropout)
    joined = keras.layers.Concatenate(name="concat")([gene_code, drug_code])
    hidden = dense_stack(joined, config.head_units, prefix="head", seeds=seeds, dropout=config.dropout)
    response = response_layer(seeds.next())(hidden)
    return keras.Model({GENES: genes, DRUG_FEATURES: drug_features}, response, name="tdnn")
