"""A multi-task network on the within-drug axis: expression in, one output per drug, trained on each drug's
responses z-scored over the training samples (missing pairs masked out of the loss).

Where the paper's networks score one (sample, drug) pair at a time and spend much of their fit on drug
potency, this network sees a sample once per epoch with every drug's deviation as its target, so all it
learns is how samples differ within drugs. Used by the centred-target study on GDSC cell cold-start
(:mod:`core.transfer.deep_study`); variants are chosen per fold by validation loss on training lines only.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MultiTaskSettings:
    hidden: tuple[int, ...] = (512, 256)
    dropout: float = 0.3
    input_dropout: float = 0.2
    linear_skip_l2: float | None = None  # a ridge-like linear path beside the hidden layers, when set
    batch_size: int = 64
    max_epochs: int = 300
    patience: int = 15
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1


VARIANTS = {
    "mlp512-256": MultiTaskSettings(),
    "mlp256-skip": MultiTaskSettings(hidden=(256,), dropout=0.5, linear_skip_l2=1e-2),
    "mlp1024-skip": MultiTaskSettings(hidden=(1024,), dropout=0.5, linear_skip_l2=1e-2),
}


def masked_mse(y_true, y_pred):
    """Mean squared error over the observed (non-NaN) targets only."""
    observed = keras.ops.logical_not(keras.ops.isnan(y_true))
    error = keras.ops.where(observed, y_true - y_pred, 0.0)
    return keras.ops.sum(error**2) / keras.ops.maximum(keras.ops.sum(keras.ops.cast(observed, "float32")), 1.0)


class MultiTaskNetwork:
    """Fit on a samples x genes matrix and a samples x drugs response matrix (NaN = not screened)."""

    def __init__(self, settings: MultiTaskSettings, seed: int = 0) -> None:
        self.settings, self.seed = settings, seed

    def _build(self, n_genes: int, n_drugs: int) -> keras.Model:
        s = self.settings
        keras.utils.set_random_seed(self.seed)
        genes = keras.Input((n_genes,))
        hidden = keras.layers.Dropout(s.input_dropout)(genes)
        for units in s.hidden:
            hidden = keras.layers.Dropout(s.dropout)(keras.layers.Dense(units, activation="relu")(hidden))
        output = keras.layers.Dense(n_drugs)(hidden)
        if s.linear_skip_l2 is not None:
            linear = keras.layers.Dense(n_drugs, kernel_regularizer=keras.regularizers.L2(s.linear_skip_l2))(genes)
            output = keras.layers.Add()([output, linear])
        model = keras.Model(genes, output)
        model.compile(keras.optimizers.Adam(s.learning_rate), loss=masked_mse)
        return model

    def fit(self, genes: pd.DataFrame, responses: pd.DataFrame) -> "MultiTaskNetwork":
        self.gene_mean, self.gene_sd = genes.mean(), genes.std() + 1e-6
        self.drug_mean, self.drug_sd = responses.mean(), responses.std()
        x = ((genes - self.gene_mean) / self.gene_sd).to_numpy(np.float32)
        y = ((responses - self.drug_mean) / self.drug_sd).to_numpy(np.float32)
        order = np.random.default_rng(self.seed).permutation(len(x))
        n_validation = max(1, int(round(len(x) * self.settings.validation_fraction)))
        validation, train = order[:n_validation], order[n_validation:]
        self.model = self._build(x.shape[1], y.shape[1])
        history = self.model.fit(
            x[train], y[train], validation_data=(x[validation], y[validation]), epochs=self.settings.max_epochs,
            batch_size=self.settings.batch_size, verbose=0,
            callbacks=[keras.callbacks.EarlyStopping(patience=self.settings.patience, restore_best_weights=True)])
        self.validation_loss = float(min(history.history["val_loss"]))
        self.drugs = list(responses.columns)
        return self

    def predict(self, genes: pd.DataFrame) -> pd.DataFrame:
        """Predicted responses (samples x drugs) on the training scale: the drug's mean added back."""
        x = ((genes - self.gene_mean) / self.gene_sd).to_numpy(np.float32)
        z = self.model.predict(x, verbose=0)
        return pd.DataFrame(z, index=genes.index, columns=self.drugs) * self.drug_sd + self.drug_mean


def as_pairs(matrix: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """The value of ``matrix`` (samples x drugs) at each (sample, drug) row of ``pairs``."""
    return matrix.stack().reindex(pd.MultiIndex.from_frame(pairs[["sample", "drug"]])).to_numpy()
