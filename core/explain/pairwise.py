"""A two-input model evaluated on every (row of one input, row of the other) pair without repeating work.

Explaining a sample's mean prediction over drugs runs the model on (path points x drugs) pairs: tens of
thousands per organoid. Most layers see only one of the two inputs (the gene subnetwork only the genes, the
drug encoders only the drug), so :func:`pairwise_outputs` walks the model's graph and runs each layer at the
coarsest level its inputs allow: once per row, once per drug, or, where the two inputs meet, once per pair.
Layers that can combine a per-row and a per-drug input without first repeating them to pairs say so with a
``pairwise`` method (:meth:`core.models.attention.ContextualAttention.pairwise`: PaccMann's SMILES attention
projects each drug's sequence once instead of once per path point), and a dense layer reading the concatenation of
a per-row and a per-drug code (tDNN's and ConvNN's first joint layer) multiplies each part once and adds them per
pair.

The result is the same function as the model (tested against ``model.predict`` on every architecture); only the
order of float operations inside a layer may differ.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import Enum
from typing import Any

import keras
import tensorflow as tf
from keras import tree


class Level(Enum):
    """How often a tensor's value is computed: once per row, once per drug, or once per (row, drug) pair."""

    ROW = "row"
    DRUG = "drug"
    PAIR = "pair"


def _to_pairs(value: tf.Tensor, level: Level, n_rows: tf.Tensor, n_drugs: tf.Tensor) -> tf.Tensor:
    """``value`` at pair level, row-major (pair ``r * n_drugs + d``)."""
    if level is Level.ROW:
        return tf.repeat(value, n_drugs, axis=0)
    if level is Level.DRUG:
        return tf.tile(value, tf.concat([[n_rows], tf.ones(tf.rank(value) - 1, tf.int32)], 0))
    return value


def _accepts_training(operation: Any) -> bool:
    call = getattr(operation, "call", None)
    return call is not None and "training" in inspect.signature(call).parameters


def _pairwise_call(operation: Any, args: tuple, levels: list[Level]) -> bool:
    """Whether ``operation`` can take per-drug positional arguments beside per-row ones as they are: it has a
    ``pairwise`` method and its first argument (the sequence) is per drug, the second (the context) per row."""
    return (
        hasattr(operation, "pairwise")
        and len(args) >= 2
        and levels[:2] == [Level.DRUG, Level.ROW]
        and all(level is Level.DRUG for level in levels[2:])
    )


@dataclass(frozen=True)
class _Concatenation:
    """A last-axis concatenation of per-row and per-drug values, kept apart: a dense layer reading it needs
    ``row_part @ W_row + drug_part @ W_drug`` per pair, a broadcast sum, instead of a product per pair."""

    parts: tuple[tuple[tf.Tensor, Level], ...]

    def to_pairs(self, n_rows: tf.Tensor, n_drugs: tf.Tensor) -> tf.Tensor:
        return tf.concat([_to_pairs(value, level, n_rows, n_drugs) for value, level in self.parts], axis=-1)

    def through_dense(self, layer: keras.layers.Dense) -> tf.Tensor:
        """``layer`` applied to the concatenation of every pair, (rows * drugs, units), row-major."""
        summed, start = None, 0
        for value, level in self.parts:
            width = value.shape[-1]
            product = tf.expand_dims(
                tf.matmul(value, layer.kernel[start : start + width]), 1 if level is Level.ROW else 0
            )
            summed = product if summed is None else summed + product
            start += width
        outputs = tf.reshape(summed, (-1, layer.units))
        if layer.bias is not None:
            outputs = outputs + layer.bias
        return outputs if layer.activation is None else layer.activation(outputs)


def _concatenation(
    operation: Any, inputs: list[Any], values: dict[int, Any], levels: dict[int, Level]
) -> _Concatenation | None:
    """The concatenation a node computes, kept apart, if it joins 2-D per-row and per-drug values on their last
    axis; otherwise None."""
    input_levels = {levels[id(tensor)] for tensor in inputs}
    if (
        not isinstance(operation, keras.layers.Concatenate)
        or input_levels != {Level.ROW, Level.DRUG}
        or operation.axis not in (-1, 1)
        or any(len(tensor.shape) != 2 for tensor in inputs)
    ):
        return None
    return _Concatenation(tuple((values[id(tensor)], levels[id(tensor)]) for tensor in inputs))


def pairwise_outputs(
    model: keras.Model, row_input: str, rows: tf.Tensor, drug_inputs: dict[str, tf.Tensor]
) -> tf.Tensor:
    """``model``'s output (rows, drugs) for every row of input ``row_input`` against every drug of
    ``drug_inputs`` (one row per drug for each other input), in inference mode."""
    values: dict[int, tf.Tensor] = {}
    levels: dict[int, Level] = {}
    for name, tensor in model.input.items():
        values[id(tensor)] = rows if name == row_input else drug_inputs[name]
        levels[id(tensor)] = Level.ROW if name == row_input else Level.DRUG
    n_rows = tf.shape(rows)[0]
    n_drugs = tf.shape(next(iter(drug_inputs.values())))[0]
    for depth in sorted(model._nodes_by_depth, reverse=True):  # the order Keras' own graph runner uses
        for node in model._nodes_by_depth[depth]:
            if node.is_input:
                continue
            operation = node.operation
            inputs = node.input_tensors
            kept_apart = [tensor for tensor in inputs if isinstance(values[id(tensor)], _Concatenation)]
            if kept_apart and isinstance(operation, keras.layers.Dense) and len(inputs) == 1:
                values[id(node.outputs[0])] = values[id(inputs[0])].through_dense(operation)
                levels[id(node.outputs[0])] = Level.PAIR
                continue
            for tensor in kept_apart:
                values[id(tensor)] = values[id(tensor)].to_pairs(n_rows, n_drugs)
            concatenation = _concatenation(operation, inputs, values, levels)
            if concatenation is not None:
                values[id(node.outputs[0])] = concatenation
                levels[id(node.outputs[0])] = Level.PAIR
                continue
            input_levels = [levels[id(tensor)] for tensor in inputs]
            args, kwargs = node.arguments.fill_in(values)
            if _accepts_training(operation):
                kwargs["training"] = False
            if len(set(input_levels)) == 1:
                level = input_levels[0]
                outputs = operation(*args, **kwargs)
            elif _pairwise_call(operation, args, [levels[id(t)] for t in tree.flatten(node.arguments.args)]):
                level = Level.PAIR
                outputs = operation.pairwise(*args, **kwargs)
            else:
                level = Level.PAIR
                paired = {
                    id(tensor): _to_pairs(values[id(tensor)], levels[id(tensor)], n_rows, n_drugs) for tensor in inputs
                }
                args, kwargs = node.arguments.fill_in(paired)
                if _accepts_training(operation):
                    kwargs["training"] = False
                outputs = operation(*args, **kwargs)
            for tensor, value in zip(node.outputs, tree.flatten(outputs)):
                values[id(tensor)] = value
                levels[id(tensor)] = level
    (output,) = tree.flatten(model.output)
    if levels[id(output)] is not Level.PAIR:
        raise ValueError(f"Model {model.name!r}'s output does not depend on both {row_input!r} and the drug inputs")
    return tf.reshape(values[id(output)], (n_rows, n_drugs))
