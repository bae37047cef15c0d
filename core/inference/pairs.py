"""Mini-batches of (sample, drug) pairs, gathered on the fly from per-sample and per-drug matrices.

Materialising 250,000 pairs x (655 genes + 1,500 descriptors) would take gigabytes; gathering rows by
index per batch keeps memory at the size of the two small matrices. Training iterates a table with
:class:`PairBatches` (shuffled, with targets); prediction with :func:`core.inference.model.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from core.models.blocks import GENES


@dataclass
class PairTable:
    """Inputs for a set of pairs: ``genes[sample_index[i]]`` and ``drugs[drug_index[i]]`` form pair i."""

    genes: np.ndarray  # samples x panel genes, float32
    drugs: np.ndarray  # drugs x features (float32) or token ids (int32)
    drug_input_name: str
    sample_index: np.ndarray
    drug_index: np.ndarray
    target: np.ndarray | None = None  # scaled response, float32

    def __len__(self) -> int:
        return len(self.sample_index)

    def subset(self, rows: np.ndarray) -> "PairTable":
        target = None if self.target is None else self.target[rows]
        return PairTable(
            self.genes, self.drugs, self.drug_input_name, self.sample_index[rows], self.drug_index[rows], target
        )

    def inputs(self, rows: np.ndarray | slice = slice(None)) -> dict[str, np.ndarray]:
        return {
            GENES: self.genes[self.sample_index[rows]],
            self.drug_input_name: self.drugs[self.drug_index[rows]],
        }


class PairBatches(keras.utils.PyDataset):
    """Keras dataset over a :class:`PairTable`; reshuffled every epoch when ``shuffle`` is set."""

    def __init__(self, table: PairTable, batch_size: int, shuffle: bool = False, seed: int = 0) -> None:
        super().__init__()
        self.table = table
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(table)) if shuffle else np.arange(len(table))

    def __len__(self) -> int:
        return int(np.ceil(len(self.table) / self.batch_size))

    def __getitem__(self, index: int):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        inputs = self.table.inputs(rows)
        return inputs if self.table.target is None else (inputs, self.table.target[rows])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(len(self.table))
