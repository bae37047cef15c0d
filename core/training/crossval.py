"""Cross-validation over a target cohort's samples: one fitted model per fold, every sample predicted
by the fold model that did not see it. The fold models become a bundle's members and their held-out
predictions its reference cohort (for z-scores) and its benchmark."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from core.data.cohort import Cohort
from core.inference.model import TrainedModel

FitFold = Callable[[int, pd.DataFrame], TrainedModel]  # (fold, training pairs) -> fitted model


def sample_folds(samples: list[str], n_folds: int, seed: int = 0) -> pd.Series:
    """Fold number per sample (cell cold-start): a seeded shuffle dealt round-robin, so sizes differ by <= 1."""
    order = np.random.default_rng(seed).permutation(sorted(samples))
    return pd.Series(np.arange(len(order)) % n_folds, index=order, name="fold").sort_index()


def cross_validate(
    cohort: Cohort, folds: pd.Series, fit_fold: FitFold, drugs: list[str]
) -> tuple[list[TrainedModel], pd.DataFrame]:
    """Fit one model per fold and predict every held-out sample against every drug in ``drugs``.

    Returns the fold models and a long table ``sample, drug, y_pred, y_true, fold`` (``y_true`` NaN where
    the pair was not screened), which holds each sample's out-of-fold prediction only.
    """
    pairs = cohort.usable_pairs()[["sample", "drug", "value"]]
    pairs = pairs[pairs["sample"].isin(folds.index)]
    models, predictions = [], []
    for fold in sorted(folds.unique()):
        held_out = folds.index[folds == fold].tolist()
        model = fit_fold(int(fold), pairs[~pairs["sample"].isin(held_out)].reset_index(drop=True))
        grid = pd.DataFrame([(s, d) for s in held_out for d in drugs], columns=["sample", "drug"])
        grid["y_pred"] = model.predict_pairs(cohort.expression, grid, cohort.drug_smiles)
        grid["fold"] = int(fold)
        models.append(model)
        predictions.append(grid)
    table = pd.concat(predictions, ignore_index=True)
    observed = pairs.rename(columns={"value": "y_true"})
    return models, table.merge(observed, on=["sample", "drug"], how="left")[
        ["sample", "drug", "y_pred", "y_true", "fold"]
    ]
