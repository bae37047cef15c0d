"""The paper's transfer step: keep everything a model learned on cell lines, replace only its output layer."""

from __future__ import annotations

import keras

from core.models.blocks import OUTPUT_LAYER_NAME, response_layer
from core.models.copying import copy_model


def replace_output_layer(pretrained: keras.Model, seed: int) -> keras.Model:
    """A copy of ``pretrained`` whose output layer is freshly initialised from ``seed``.

    Every other layer keeps the pre-trained weights (copied, so fine-tuning leaves ``pretrained``
    untouched). Works for any model whose output is the layer named ``"response"``, i.e. all models
    from :func:`core.models.build_model`. The result is uncompiled.
    """
    names = [layer.name for layer in pretrained.layers]
    ends_in_response = (
        OUTPUT_LAYER_NAME in names and pretrained.get_layer(OUTPUT_LAYER_NAME).output is pretrained.output
    )
    if not ends_in_response:
        raise ValueError(f"Model {pretrained.name!r} does not end in a layer named {OUTPUT_LAYER_NAME!r}")
    body = copy_model(pretrained)
    penultimate = body.get_layer(OUTPUT_LAYER_NAME).input
    return keras.Model(body.input, response_layer(seed)(penultimate), name=pretrained.name)
