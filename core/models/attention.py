"""Contextual attention of PaccMann (Manica et al. 2019): pooling a SMILES sequence with weights that
depend on the cell's gene encoding, so which parts of a molecule matter can differ between samples."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

# Length groups of :meth:`ContextualAttention.pairwise`: with the 81 drugs' SMILES (7-117 of 173 tokens), 4 groups
# cut the attended positions to 0.59 of cutting all at the longest (6 groups: 0.53, 12: 0.49).
PAIRWISE_LENGTH_GROUPS = 4


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
        projected = ops.matmul(sequence, self.sequence_kernel) + ops.expand_dims(
            ops.matmul(context, self.context_kernel), 1
        )
        pooled = ops.einsum("bth,btf->bhf", self._weights(projected, token_mask), sequence)
        return ops.reshape(pooled, (-1, self.num_heads * sequence.shape[-1]))

    def pairwise(self, sequence: Any, context: Any, token_mask: Any) -> Any:
        """What :meth:`call` gives for every context row against every sequence (the contexts repeated, the
        sequences tiled), ``(contexts * sequences, heads * F)`` context-major, without the repeated work: each
        sequence is projected once, not once per context, and padding positions (weight exactly zero) are left
        out by pooling sequences of similar length together (:data:`PAIRWISE_LENGTH_GROUPS` groups, each cut
        after its longest member). Used to explain many (gene profile, drug) pairs at once."""
        positions = ops.arange(ops.shape(token_mask)[1]) + 1
        lengths = ops.max(ops.where(token_mask, positions, 0), axis=1)  # last real position of each sequence
        order = ops.argsort(lengths)
        n_sequences = ops.shape(sequence)[0]
        pooled = []
        for group in range(PAIRWISE_LENGTH_GROUPS):
            members = order[
                group * n_sequences // PAIRWISE_LENGTH_GROUPS : (group + 1) * n_sequences // PAIRWISE_LENGTH_GROUPS
            ]
            used = ops.max(ops.concatenate([ops.take(lengths, members), ops.ones((1,), "int32")]))
            pooled.append(
                self._pool_pairs(
                    ops.take(sequence, members, axis=0)[:, :used],
                    context,
                    ops.take(token_mask, members, axis=0)[:, :used],
                )
            )
        by_length = ops.concatenate(pooled, axis=1)  # (contexts, sequences in length order, heads * F)
        return ops.reshape(ops.take(by_length, ops.argsort(order), axis=1), (-1, by_length.shape[-1]))

    def _pool_pairs(self, sequence: Any, context: Any, token_mask: Any) -> Any:
        """(contexts, sequences, heads * F): every context against every sequence, each projected once."""
        n_contexts, n_sequences, length = ops.shape(context)[0], ops.shape(sequence)[0], ops.shape(sequence)[1]
        projected = ops.expand_dims(ops.matmul(sequence, self.sequence_kernel), 0) + ops.expand_dims(
            ops.expand_dims(ops.matmul(context, self.context_kernel), 1), 1
        )  # (contexts, sequences, T, width): the sum call() forms, in the same order
        width = self.num_heads * self.attention_size
        weights = self._weights(
            ops.reshape(projected, (n_contexts * n_sequences, length, width)), ops.tile(token_mask, (n_contexts, 1))
        )
        weights = ops.reshape(weights, (n_contexts, n_sequences, length, self.num_heads))
        pooled = ops.einsum("cdth,dtf->cdhf", weights, sequence)
        return ops.reshape(pooled, (n_contexts, n_sequences, self.num_heads * sequence.shape[-1]))

    def _weights(self, projected: Any, token_mask: Any) -> Any:
        """Attention weights (batch, T, heads) from the projected sequence plus context (batch, T, width)."""
        hidden = ops.tanh(projected + self.bias)
        hidden = ops.reshape(hidden, (-1, ops.shape(projected)[1], self.num_heads, self.attention_size))
        scores = ops.einsum("btha,ha->bth", hidden, self.score_vector)
        scores = ops.where(ops.expand_dims(token_mask, -1), scores, ops.full_like(scores, -1e9))
        return ops.softmax(scores, axis=1)

    def compute_output_shape(self, sequence_shape: tuple, context_shape: tuple, token_mask_shape: tuple) -> tuple:
        return (sequence_shape[0], self.num_heads * sequence_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "attention_size": self.attention_size,
            "num_heads": self.num_heads,
            "seed": self.seed,
        }
