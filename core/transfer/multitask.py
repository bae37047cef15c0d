"""A multi-task network on the within-drug axis: expression in, one output per drug, trained on each drug's
responses z-scored over the training samples (missing pairs masked out of the loss).

Where the paper's networks score one (sample, drug) pair at a time and spend much of their fit on drug
potency, this network sees a sample once per epoch with every drug's deviation as its target, so all it
learns is how samples differ within drugs. Used by the centred-target study on GDSC cell cold-start
(:mod:`core.transfer.deep_study`); variants are chosen per fold by validation loss on training lines only.
The loss is the masked squared error, or (issue 12's ordering loss) one minus the per-drug Pearson correlation
over the samples of a batch, alone or added to it (``LOSSES``).
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
    loss: str = "mse"  # one of LOSSES


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


def masked_ordering(y_true, y_pred):
    """1 - the mean over drugs of the Pearson correlation between predicted and observed responses of the
    batch's samples (observed pairs only; drugs with fewer than 3 in the batch left out): a loss on the
    within-drug ordering itself, blind to each drug's level and scale."""
    observed = keras.ops.cast(keras.ops.logical_not(keras.ops.isnan(y_true)), "float32")
    truth = keras.ops.where(observed > 0, y_true, 0.0)
    count = keras.ops.sum(observed, axis=0)
    safe = keras.ops.maximum(count, 1.0)
    true_centred = (truth - keras.ops.sum(truth, axis=0) / safe) * observed
    pred_centred = (y_pred - keras.ops.sum(y_pred * observed, axis=0) / safe) * observed
    covariance = keras.ops.sum(true_centred * pred_centred, axis=0)
    spread = keras.ops.sqrt(keras.ops.sum(true_centred**2, axis=0) * keras.ops.sum(pred_centred**2, axis=0) + 1e-8)
    usable = keras.ops.cast(count >= 3, "float32")
    mean_r = keras.ops.sum(usable * covariance / spread) / keras.ops.maximum(keras.ops.sum(usable), 1.0)
    return 1.0 - mean_r


def masked_mse_and_ordering(y_true, y_pred):
    """Both: the squared error keeps predictions on the response scale, the ordering term rewards ranks."""
    return masked_mse(y_true, y_pred) + masked_ordering(y_true, y_pred)


LOSSES = {"mse": masked_mse, "ordering": masked_ordering, "mse+ordering": masked_mse_and_ordering}


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
        model.compile(keras.optimizers.Adam(s.learning_rate), loss=LOSSES[s.loss])
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
            x[train],
            y[train],
            validation_data=(x[validation], y[validation]),
            epochs=self.settings.max_epochs,
            batch_size=self.settings.batch_size,
            verbose=0,
            callbacks=[keras.callbacks.EarlyStopping(patience=self.settings.patience, restore_best_weights=True)],
        )
        self.validation_loss = float(min(history.history["val_loss"]))
        self.drugs = list(responses.columns)
        return self

    def predict(self, genes: pd.DataFrame) -> pd.DataFrame:
        """Predicted responses (samples x drugs) on the training scale: the drug's mean added back."""
        x = ((genes - self.gene_mean) / self.gene_sd).to_numpy(np.float32)
        z = self.model.predict(x, verbose=0)
        return pd.DataFrame(z, index=genes.index, columns=self.drugs) * self.drug_sd + self.drug_mean


def responses_matrix(pairs: pd.DataFrame) -> pd.DataFrame:
    """Samples x drugs response matrix of long ``pairs`` (sample, drug, value); NaN where not screened."""
    return pairs.pivot_table(index="sample", columns="drug", values="value")


def as_pairs(matrix: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """The value of ``matrix`` (samples x drugs) at each (sample, drug) row of ``pairs``."""
    return matrix.stack().reindex(pd.MultiIndex.from_frame(pairs[["sample", "drug"]])).to_numpy()
