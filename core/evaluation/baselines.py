"""Naive baselines: what a model must beat before its predictions help anyone.

Each is fitted on one fold's training pairs (``sample, drug, value``) and predicts that fold's test pairs
(``sample, drug``), so it is scored on exactly the folds the models are scored on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Baseline = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]

_MAX_SWEEPS = 200
_TOLERANCE = 1e-12


def _group_mean(train: pd.DataFrame, test: pd.DataFrame, key: str) -> np.ndarray:
    """Training mean of each test row's ``key`` group; the grand mean where the group is unseen."""
    means = train.groupby(key)["value"].mean()
    return test[key].map(means).fillna(train["value"].mean()).to_numpy(dtype=float)


def naive_drug_mean(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Per-drug training mean: the reference for cell cold-start (unseen drugs get the grand mean)."""
    return _group_mean(train, test, "drug")


def naive_sample_mean(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Per-sample training mean: the reference for drug cold-start (unseen samples get the grand mean)."""
    return _group_mean(train, test, "sample")


def _additive_effects(train: pd.DataFrame) -> tuple[float, pd.Series, pd.Series]:
    """Least-squares fit of value = grand mean + sample effect + drug effect by alternating means.

    Backfitting on the observed pairs only, so an incomplete sample x drug matrix is handled; it converges
    to the least-squares solution.
    """
    grand = float(train["value"].mean())
    residual = train["value"] - grand
    sample_effect = pd.Series(0.0, index=pd.Index(train["sample"].unique()))
    drug_effect = pd.Series(0.0, index=pd.Index(train["drug"].unique()))
    for _ in range(_MAX_SWEEPS):
        new_sample = (residual - train["drug"].map(drug_effect)).groupby(train["sample"]).mean()
        new_drug = (residual - train["sample"].map(new_sample)).groupby(train["drug"]).mean()
        change = max(
            float((new_sample - sample_effect.reindex(new_sample.index)).abs().max()),
            float((new_drug - drug_effect.reindex(new_drug.index)).abs().max()),
        )
        sample_effect, drug_effect = new_sample, new_drug
        if change < _TOLERANCE:
            break
    return grand, sample_effect, drug_effect


def naive_additive(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Grand mean + sample effect + drug effect, fitted on the training pairs.

    An unseen sample or drug contributes an effect of 0, so in cell cold-start the prediction is grand mean
    + drug effect, in drug cold-start grand mean + sample effect: the available effect only.
    """
    grand, sample_effect, drug_effect = _additive_effects(train)
    prediction = grand + test["sample"].map(sample_effect).fillna(0.0) + test["drug"].map(drug_effect).fillna(0.0)
    return prediction.to_numpy(dtype=float)


def cross_validate(baseline: Baseline, pairs: pd.DataFrame, folds: np.ndarray) -> np.ndarray:
    """Held-out prediction for every row of ``pairs``: fold f is predicted from all rows not in fold f."""
    folds = np.asarray(folds)
    prediction = np.empty(len(pairs), dtype=float)
    for fold in np.unique(folds):
        test = folds == fold
        prediction[test] = baseline(pairs[~test], pairs[test])
    return prediction


def naive_predictions_table(pairs: pd.DataFrame, folds: np.ndarray) -> pd.DataFrame:
    """Every naive baseline's held-out prediction of every row of ``pairs`` (``sample, drug, value``) on
    ``folds``, as one long table ``model, fold, sample, drug, y_true, y_pred``."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "model": name,
                    "fold": np.asarray(folds),
                    "sample": pairs["sample"].to_numpy(),
                    "drug": pairs["drug"].to_numpy(),
                    "y_true": pairs["value"].to_numpy(),
                    "y_pred": cross_validate(baseline, pairs, folds),
                }
            )
            for name, baseline in NAIVE_BASELINES.items()
        ],
        ignore_index=True,
    )


NAIVE_BASELINES: dict[str, Baseline] = {
    "naive_drug_mean": naive_drug_mean,
    "naive_sample_mean": naive_sample_mean,
    "naive_additive": naive_additive,
}
