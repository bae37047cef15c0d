"""Contextual attention of PaccMann (Manica et al. 2019): pooling a SMILES sequence with weights that
depend on the cell's gene encoding, so which parts of a molecule matter can differ between samples."""
from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="pdo")
class ContextualAttention(keras.layers.Layer):
    """Multi-head attention pooling of a sequence ``(batch, T, F)`` given a context ``(batch, C)``.

    For head ``h`` and position ``t``: ``score = v_h . tanh(W_h s_t + U_h c + b_h)``; the softmax over
    the positions that are not padding weighs the sequence, giving ``F`` values per head. Output:
    ``(batch, heads * F)``. Heads are computed in one einsum rather than as separate layers.
    """

    def __init__(self, attention_size: int, num_heads: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attention_size = attention_size
        self.num_heads = num_heads
        self.seed = seed

    def _initializer(self, offset: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=None if self.seed is None else self.seed + offset)

    def build(self, sequence_shape: tuple, context_shape: tuple, token_mask_shape: tuple) -> None:
        width = self.num_heads * self.attention_size
        self.sequence_kernel = self.add_weight(
            name="sequence_kernel", shape=(sequence_shape[-1], width), initializer=self._initializer(0)
        )
        self.context_kernel = self.add_weight(
            name="context_kernel", shape=(context_shape[-1], width), initializer=self._initializer(1)
        )
        self.bias = self.add_weight(name="bias", shape=(width,), initializer="zeros")
        self.score_vector = self.add_weight(
            name="score_vector", shape=(self.num_heads, self.attention_size), initializer=self._initializer(2)
        )

    def call(self, sequence: Any, context: Any, token_mask: Any) -> Any:
        """``token_mask`` (batch, T) is true for real tokens; padding positions get zero weight."""
        hidden = ops.tanh(
            ops.matmul(sequence, self.sequence_kernel)
            + ops.expand_dims(ops.matmul(context, self.context_kernel), 1)
            + self.bias
        )
        hidden = ops.reshape(hidden, (-1, ops.shape(sequence)[1], self.num_heads, self.attention_size))
        scores = ops.einsum("btha,ha->bth", hidden, self.score_vector)
        scores = ops.where(ops.expand_dims(token_mask, -1), scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=1)
        pooled = ops.einsum("bth,btf->bhf", weights, sequence)
        return ops.reshape(pooled, (-1, self.num_heads * sequence.shape[-1]))

    def compute_output_shape(
        self, sequence_shape: tuple, context_shape: tuple, token_mask_shape: tuple
    ) -> tuple:
        return (sequence_shape[0], self.num_heads * sequence_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "attention_size": self.attention_size,
            "num_heads": self.num_heads,
            "seed": self.seed,
        }
