"""Random but realistically shaped inputs for any model of core.models, shared by the model and
explanation tests: sizes are read off the model's own inputs, so one function serves every size."""

from __future__ import annotations

import keras
import numpy as np


def random_inputs(model: keras.Model, n_pairs: int, seed: int = 0, min_tokens: int = 20) -> dict[str, np.ndarray]:
    """z-scored genes, standardised descriptors, and SMILES ids right-padded after ``min_tokens`` or more tokens."""
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}
    for name, tensor in model.input.items():
        width = tensor.shape[1]
        if name == "smiles_tokens":
            vocabulary = model.get_layer("smiles_embedding").input_dim
            tokens = rng.integers(1, vocabulary, (n_pairs, width)).astype("int32")
            tokens[np.arange(width) >= rng.integers(min_tokens, width, n_pairs)[:, None]] = 0
            inputs[name] = tokens
        else:
            inputs[name] = rng.normal(size=(n_pairs, width)).astype("float32")
    return inputs
