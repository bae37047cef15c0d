"""An ordering loss for the pair-wise networks (tDNN, ConvNN, PaccMann), and the drug-grouped batches it needs.

The paper's networks see one (sample, drug) pair per row, so a loss on the ordering of samples within a drug
needs several samples of the same drug in a batch. :class:`DrugGroupedBatches` deals each epoch's training
pairs drug by drug (drugs and their samples in a new random order every epoch) and cuts that sequence into
batches, and passes each pair's drug beside its target. The loss is one minus the mean over the batch's drugs
of the Pearson correlation between predicted and observed responses (drugs with fewer than 3 pairs in the
batch left out), alone (``ordering``) or added to the squared error (``mse+ordering``), which keeps
predictions on the response scale and gives early stopping a validation loss when the validation split
holds few samples per drug. ``mse`` is the paper's loss on the paper's batches.
"""

from __future__ import annotations

import keras
import numpy as np

from core.inference.pairs import PairTable

LOSSES = ("mse", "ordering", "mse+ordering")
MIN_PAIRS = 3  # fewest pairs of a drug in a batch for its correlation to count


def _squared_error(y_true, y_pred):
    return keras.ops.mean((y_true[:, 0] - keras.ops.reshape(y_pred, (-1,))) ** 2)


def grouped_ordering(y_true, y_pred):
    """1 - the mean over drugs of Pearson(predicted, observed) across the batch's pairs of that drug.

    ``y_true`` holds the target in column 0 and the pair's drug index in column 1. Per-drug sums are taken
    through the batch's same-drug matrix, so each row carries its drug's correlation; weighting a row by one
    over its drug's count makes the mean one vote per drug.
    """
    target, drug = y_true[:, 0], y_true[:, 1]
    predicted = keras.ops.reshape(y_pred, (-1,))
    same = keras.ops.cast(keras.ops.equal(drug[:, None], drug[None, :]), "float32")
    count = keras.ops.sum(same, axis=1)
    target_centred = target - keras.ops.matmul(same, target) / count
    predicted_centred = predicted - keras.ops.matmul(same, predicted) / count
    covariance = keras.ops.matmul(same, target_centred * predicted_centred)
    spread = keras.ops.sqrt(
        keras.ops.matmul(same, target_centred**2) * keras.ops.matmul(same, predicted_centred**2) + 1e-8
    )
    weight = keras.ops.cast(count >= MIN_PAIRS, "float32") / count
    return 1.0 - keras.ops.sum(weight * covariance / spread) / keras.ops.maximum(keras.ops.sum(weight), 1e-8)


def _squared_error_and_ordering(y_true, y_pred):
    return _squared_error(y_true, y_pred) + grouped_ordering(y_true, y_pred)


LOSS_FUNCTIONS = {"ordering": grouped_ordering, "mse+ordering": _squared_error_and_ordering}


class DrugGroupedBatches(keras.utils.PyDataset):
    """Batches of consecutive pairs from a drug-by-drug order of the table; targets come with their drug index
    (``y`` of shape pairs x 2). ``shuffle``: a new order of drugs, and of pairs within each drug, every epoch."""

    def __init__(self, table: PairTable, batch_size: int, shuffle: bool = False, seed: int = 0) -> None:
        super().__init__()
        if table.target is None:
            raise ValueError("drug-grouped batches are for training: the table has no target")
        self.table, self.batch_size, self.shuffle = table, batch_size, shuffle
        self._rng = np.random.default_rng(seed)
        self._drugs = [np.flatnonzero(table.drug_index == drug) for drug in np.unique(table.drug_index)]
        self._order = self._deal()

    def _deal(self) -> np.ndarray:
        if not self.shuffle:
            return np.concatenate(self._drugs)
        return np.concatenate([self._rng.permutation(self._drugs[i]) for i in self._rng.permutation(len(self._drugs))])

    def __len__(self) -> int:
        return int(np.ceil(len(self.table) / self.batch_size))

    def __getitem__(self, index: int):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        target = np.stack([self.table.target[rows], self.table.drug_index[rows].astype(np.float32)], axis=1)
        return self.table.inputs(rows), target

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._deal()
