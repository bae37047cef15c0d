"""Compiled twins: one compiled copy per architecture, whose traced training step every model of that
architecture reuses.

TensorFlow traces a new model's training and validation steps on its first epoch: 3-5 s for PaccMann on
2 CPU cores, against about 1 s per later epoch. A cross-validation trains one model per fold with the same
architecture (the 10 fold models of an own-cohort run spent 57 of 194 s in first epochs), so the fit loop
trains a *twin* instead: it copies the model's variables (weights, batch-norm statistics, dropout seeds)
into the twin, resets the twin's optimiser to its freshly built state, trains, and copies the variables
back. The model itself is never compiled. Training starts from the same variables, optimiser state and
batches as compiling and training the model directly would; only the tracing is skipped.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from core.models.copying import copy_model
from core.training.ordering import LOSS_FUNCTIONS

MAX_TWINS = 4  # architectures kept compiled per process (a cross-validation needs two: fine-tuned, scratch)


@dataclass
class _Twin:
    model: keras.Model
    fresh_optimizer: list[np.ndarray]  # the optimiser's variables right after it was built
    lock: threading.Lock


_twins: OrderedDict[tuple[str, float, str], _Twin] = OrderedDict()  # (graph key, learning rate, loss) -> twin
_twins_lock = threading.Lock()


def _graph_key(model: keras.Model) -> str:
    """The model's config without initialisers and seeds, layers renamed by position: models differing only
    there share a traced graph (initial values and seed states are variables, copied into the twin; Keras
    numbers unnamed operations per build, e.g. PaccMann's token mask ``not_equal_3``)."""
    config = model.get_config()
    position = {layer["name"]: f"layer {i}" for i, layer in enumerate(config.get("layers", []))}

    def canonical(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in value.items() if k != "seed" and not k.endswith("_initializer")}
        if isinstance(value, (list, tuple)):
            return [canonical(v) for v in value]
        return position.get(value, value) if isinstance(value, str) else value

    return json.dumps(canonical(config), sort_keys=True, default=str)


def _twin_for(model: keras.Model, learning_rate: float, loss: str) -> _Twin:
    key = (_graph_key(model), learning_rate, loss)
    with _twins_lock:
        twin = _twins.pop(key, None)
        if twin is None:
            copy = copy_model(model)
            copy.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=LOSS_FUNCTIONS.get(loss, "mse"))
            copy.optimizer.build(copy.trainable_variables)
            twin = _Twin(copy, [v.numpy() for v in copy.optimizer.variables], threading.Lock())
        _twins[key] = twin  # most recently used last
        while len(_twins) > MAX_TWINS:
            _twins.popitem(last=False)
    return twin


def _copy_variables(source: keras.Model, target: keras.Model) -> None:
    if [v.shape for v in source.variables] != [v.shape for v in target.variables]:
        raise ValueError(f"{source.name} and its compiled twin {target.name} hold different variables")
    for to, value in zip(target.variables, source.variables):
        to.assign(value)


@contextmanager
def compiled_twin(model: keras.Model, learning_rate: float, loss: str = "mse") -> Iterator[keras.Model]:
    """A compiled model with ``model``'s variables and a fresh Adam optimiser (``loss``: one of
    :data:`core.training.ordering.LOSSES`); when the block ends, its variables are copied back into ``model``.
    One thread at a time per twin."""
    twin = _twin_for(model, learning_rate, loss)
    with twin.lock:
        _copy_variables(model, twin.model)
        for variable, fresh in zip(twin.model.optimizer.variables, twin.fresh_optimizer):
            variable.assign(fresh)
        yield twin.model
        _copy_variables(twin.model, model)
