"""ConvNN, the paper's ``nn_baseline``: a small convolutional SMILES encoder next to a dense gene
branch. The simplest model that reads the molecule itself rather than precomputed descriptors."""

from __future__ import annotations

import keras

from core.models.blocks import (
    GENES,
    SMILES_TOKENS,
    SeedStream,
    dense_stack,
    float_input,
    response_layer,
    smiles_conv,
    smiles_embedding,
    token_input,
)
from core.models.config import ConvNNConfig


def build_convnn(config: ConvNNConfig, *, n_genes: int, smiles_length: int, vocabulary_size: int) -> keras.Model:
    """Inputs ``genes`` (n_genes) and ``smiles_tokens`` (smiles_length ids); output ``response``."""
    seeds = SeedStream(config.seed)
    genes = float_input(GENES, n_genes)
    tokens = token_input(smiles_length)
    gene_code = dense_stack(genes, config.gene_units, prefix="gene", seeds=seeds)
    smiles = smiles_embedding(tokens, vocabulary_size, config.embedding_dim, seeds)
    blocks = zip(config.conv_filters, config.conv_kernel_sizes, config.pool_sizes)
    for index, (filters, kernel_size, pool_size) in enumerate(blocks, start=1):
        smiles = smiles_conv(filters, kernel_size, name=f"smiles_conv_{index}", seeds=seeds)(smiles)
        # "same" pooling keeps at least one position, whatever the SMILES length.
        smiles = keras.layers.MaxPooling1D(pool_size, padding="same", name=f"smiles_pool_{index}")(smiles)
    smiles_code = keras.layers.Flatten(name="smiles_flatten")(smiles)
    joined = keras.layers.Concatenate(name="concat")([smiles_code, gene_code])
    hidden = dense_stack(
        joined, config.dense_units, prefix="head", seeds=seeds, batch_norm=True, dropout=config.dropout
    )
    response = response_layer(seeds.next())(hidden)
    return keras.Model({GENES: genes, SMILES_TOKENS: tokens}, response, name="convnn")
