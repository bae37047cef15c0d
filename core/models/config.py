"""Hyper-parameters of the three architectures, as JSON-safe dataclasses.

A bundle stores ``to_dict()`` in its manifest and rebuilds the config with ``from_dict()``. Defaults
follow Prasse et al. 2022 and the code published with it (github.com/prassepaul/mlmed_transfer_learning)
where that fixes a value; the remaining choices are documented on each class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self


@dataclass(frozen=True)
class ModelConfig:
    """Fields every architecture has.

    ``seed`` fixes every initial weight and every dropout mask of a freshly built model, so two builds
    with the same config are identical without touching Keras' global random state.
    """

    seed: int = 0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple) and not all(isinstance(v, int) and v > 0 for v in value):
                raise ValueError(f"{field.name} must hold positive integers, got {value}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of JSON types (tuples become lists) for the bundle manifest."""
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`; missing keys take their defaults, unknown keys are an error."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})


@dataclass(frozen=True)
class TDNNConfig(ModelConfig):
    """tDNN (Sakellaropoulos et al. 2019) as used by Prasse et al.: sizes exactly as in the paper's code.

    Two ReLU subnetworks (genes, drug descriptors) of 1000-500-250 units, concatenated, then a head of
    250-125-60 units and the one-unit output: four dense layers after the concatenation. The paper's
    code uses no dropout in tDNN, hence ``dropout = 0``.
    """

    gene_units: tuple[int, ...] = (1000, 500, 250)
    drug_units: tuple[int, ...] = (1000, 500, 250)
    head_units: tuple[int, ...] = (250, 125, 60)


@dataclass(frozen=True)
class ConvNNConfig(ModelConfig):
    """ConvNN, the paper's ``nn_baseline``: SMILES embedding, Conv1D + max-pool blocks, a gene branch,
    then a batch-normalised dense head.

    The paper chose sizes by random search (embedding 16-128, filters 16-64, kernels 3-11 in decreasing
    order, pool 2 or 4, 1-3 dense layers of 32-512 units in decreasing order, dropout 0.1) and did not
    publish the winner. Defaults here sit inside those ranges: embedding 32, three blocks of 64 filters
    with kernels 7-5-3 and pool 4, dense 256-128-64. The gene branch is one ReLU layer of
    ``gene_units`` (the paper's code used one linear layer as wide as the embedding).
    """

    dropout: float = 0.1
    embedding_dim: int = 32
    conv_filters: tuple[int, ...] = (64, 64, 64)
    conv_kernel_sizes: tuple[int, ...] = (7, 5, 3)
    pool_sizes: tuple[int, ...] = (4, 4, 4)
    gene_units: tuple[int, ...] = (128,)
    dense_units: tuple[int, ...] = (256, 128, 64)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not len(self.conv_filters) == len(self.conv_kernel_sizes) == len(self.pool_sizes):
            raise ValueError("conv_filters, conv_kernel_sizes and pool_sizes need one entry per conv block")


@dataclass(frozen=True)
class PaccMannConfig(ModelConfig):
    """PaccMann's multiscale convolutional attentive encoder (Manica et al. 2019).

    From the PaccMann parameters used by Prasse et al.: embedding 16, filters 64-64-64 with kernel sizes
    3-5-11, attention size 64, dense 512-128-64-16, dropout 0.3. ``attention_heads`` contextual
    attention heads pool each scale (the raw embedding plus every convolution).
    Deviations, to train on a CPU: one head per scale instead of the paper's 4 (4 heads made an epoch
    about four times slower on 2 CPU cores; set ``attention_heads=4`` on a GPU), one gene attention
    shared by all scales (the paper had one per scale, each ``n_genes**2`` weights), and the attention
    is conditioned on a dense gene encoding of ``gene_encoding_units`` instead of the full attended
    gene vector.
    """

    dropout: float = 0.3
    embedding_dim: int = 16
    conv_filters: tuple[int, ...] = (64, 64, 64)
    conv_kernel_sizes: tuple[int, ...] = (3, 5, 11)
    attention_size: int = 64
    attention_heads: int = 1
    gene_encoding_units: int = 128
    dense_units: tuple[int, ...] = (512, 128, 64, 16)

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.conv_filters) != len(self.conv_kernel_sizes):
            raise ValueError("conv_filters and conv_kernel_sizes need one entry per convolution scale")
