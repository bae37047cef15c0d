"""PaccMann's multiscale convolutional attentive (MCA) model (Oskooei et al. 2018, Manica et al. 2019).

Genes pass a softmax attention (weights over the panel that multiply the expression values) and a
dense encoding; the SMILES embedding is convolved at several kernel sizes, and every scale, the raw
embedding included, is pooled by contextual attention conditioned on that gene encoding. The pooled
scales and the gene encoding feed a batch-normalised dense head.
"""

from __future__ import annotations

import keras

from core.models.attention import ContextualAttention
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
from core.models.config import PaccMannConfig


def build_paccmann(config: PaccMannConfig, *, n_genes: int, smiles_length: int, vocabulary_size: int) -> keras.Model:
    """Inputs ``genes`` (n_genes) and ``smiles_tokens`` (smiles_length ids, 0 = padding);
    output ``response``."""
    seeds = SeedStream(config.seed)
    genes = float_input(GENES, n_genes)
    tokens = token_input(smiles_length)

    gene_weights = keras.layers.Dense(
        n_genes, activation="softmax", kernel_initializer=seeds.glorot(), name="gene_attention"
    )(genes)
    attended_genes = keras.layers.Multiply(name="attended_genes")([genes, gene_weights])
    gene_code = dense_stack(attended_genes, (config.gene_encoding_units,), prefix="gene_encoding", seeds=seeds)

    embedded = smiles_embedding(tokens, vocabulary_size, config.embedding_dim, seeds)
    scales = [embedded]
    convolutions = zip(config.conv_filters, config.conv_kernel_sizes)
    for index, (filters, kernel_size) in enumerate(convolutions, start=1):
        convolved = smiles_conv(filters, kernel_size, name=f"smiles_conv_{index}", seeds=seeds)(embedded)
        if config.dropout > 0:
            convolved = keras.layers.Dropout(config.dropout, seed=seeds.next(), name=f"smiles_conv_{index}_dropout")(
                convolved
            )
        scales.append(keras.layers.BatchNormalization(name=f"smiles_conv_{index}_bn")(convolved))

    token_mask = keras.ops.not_equal(tokens, 0)
    pooled = [
        ContextualAttention(
            config.attention_size, config.attention_heads, seed=seeds.next(), name=f"smiles_attention_{index}"
        )(scale, gene_code, token_mask)
        for index, scale in enumerate(scales)
    ]
    encoding = keras.layers.Concatenate(name="encoding")([*pooled, gene_code])
    encoding = keras.layers.BatchNormalization(name="encoding_bn")(encoding)
    hidden = dense_stack(
        encoding, config.dense_units, prefix="head", seeds=seeds, batch_norm=True, dropout=config.dropout
    )
    response = response_layer(seeds.next())(hidden)
    return keras.Model({GENES: genes, SMILES_TOKENS: tokens}, response, name="paccmann")
