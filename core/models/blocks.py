"""Layer recipes the three architectures share: named inputs, seeded initialisers, dense stacks,
the SMILES embedding and the output layer.

Every architecture ends in the same one-unit layer named :data:`OUTPUT_LAYER_NAME`, which is what
lets :func:`core.models.transfer.replace_output_layer` treat all of them alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

GENES = "genes"
DRUG_FEATURES = "drug_features"
SMILES_TOKENS = "smiles_tokens"
OUTPUT_LAYER_NAME = "response"


class SeedStream:
    """Hands out one reproducible seed per layer, all derived from the model seed.

    Seeding initialisers and dropout layers individually makes a build deterministic without
    ``keras.utils.set_random_seed``, which would reset the random state of the whole process.
    """

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def next(self) -> int:
        return int(self._rng.integers(0, 2**31 - 1))

    def glorot(self) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=self.next())


def float_input(name: str, width: int) -> keras.KerasTensor:
    return keras.Input(shape=(width,), dtype="float32", name=name)


def token_input(length: int) -> keras.KerasTensor:
    """SMILES token ids, right-padded with 0."""
    return keras.Input(shape=(length,), dtype="int32", name=SMILES_TOKENS)


def dense_stack(
    x: keras.KerasTensor,
    units: Sequence[int],
    *,
    prefix: str,
    seeds: SeedStream,
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> keras.KerasTensor:
    """One ``Dense -> [BatchNorm] -> ReLU -> [Dropout]`` block per entry of ``units``."""
    for index, width in enumerate(units, start=1):
        name = f"{prefix}_{index}"
        x = keras.layers.Dense(
            width,
            activation=None if batch_norm else "relu",
            use_bias=not batch_norm,  # batch norm's offset makes a bias redundant
            kernel_initializer=seeds.glorot(),
            name=name,
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=seeds.next(), name=f"{name}_dropout")(x)
    return x


def smiles_embedding(tokens: keras.KerasTensor, vocabulary_size: int, dim: int, seeds: SeedStream) -> keras.KerasTensor:
    """Learned token embedding; ``vocabulary_size`` counts every id including the padding id 0."""
    initializer = keras.initializers.RandomUniform(-0.05, 0.05, seed=seeds.next())
    return keras.layers.Embedding(vocabulary_size, dim, embeddings_initializer=initializer, name="smiles_embedding")(
        tokens
    )


def smiles_conv(filters: int, kernel_size: int, *, name: str, seeds: SeedStream) -> keras.layers.Conv1D:
    """Length-preserving ReLU convolution over the SMILES embedding."""
    return keras.layers.Conv1D(
        filters, kernel_size, padding="same", activation="relu", kernel_initializer=seeds.glorot(), name=name
    )


def response_layer(seed: int) -> keras.layers.Dense:
    """The linear one-unit output predicting the min-max scaled response.

    Linear rather than sigmoid, as in the paper: the target scaler is fitted on training data, so
    new samples may legitimately fall outside [0, 1], and a sigmoid would flatten gradients near the
    ends of the range.
    """
    return keras.layers.Dense(
        1,
        activation="linear",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name=OUTPUT_LAYER_NAME,
    )
