"""Independent copies of a model, weights included.

Keras 3's ``.keras`` format ignores ``include_optimizer``: saving ``copy_model(model)`` is how to store
a trained model without optimizer state. Transfer learning starts from a copy so that fine-tuning never
changes the pre-trained model it came from (one pre-trained model serves every fold).
"""

from __future__ import annotations

import keras


def copy_model(model: keras.Model) -> keras.Model:
    """An uncompiled model with the same graph, layer names and weights, sharing no variable with
    ``model``."""
    # Not keras.models.clone_model: in Keras 3 it compiles the clone like the original.
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy
