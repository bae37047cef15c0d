"""Scores of a cross-validated model next to the naive baselines on the same folds."""

from __future__ import annotations

import pandas as pd

from core.evaluation.baselines import NAIVE_BASELINES, cross_validate, naive_drug_mean
from core.evaluation.metrics import score_all, within_drug_fold_per_drug


def scored_table(oof: pd.DataFrame) -> pd.DataFrame:
    """Screened pairs of an out-of-fold table with ``baseline`` (that fold's per-drug training mean) attached.

    ``oof`` has columns sample, drug, y_pred, y_true (NaN where not screened), fold. Values are min-max
    scaled by the observed range so that MSE is comparable across cohorts (the paper's scaled target).
    """
    screened = oof.dropna(subset=["y_true"]).reset_index(drop=True)
    pairs = screened.rename(columns={"y_true": "value"})[["sample", "drug", "value"]]
    low, high = screened["y_true"].min(), screened["y_true"].max()
    return pd.DataFrame(
        {
            "sample": screened["sample"],
            "drug": screened["drug"],
            "fold": screened["fold"],
            "y_true": (screened["y_true"] - low) / (high - low),
            "y_pred": (screened["y_pred"] - low) / (high - low),
            "baseline": (cross_validate(naive_drug_mean, pairs, screened["fold"].to_numpy()) - low) / (high - low),
        }
    )


def naive_predictions(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A :func:`scored_table` once per naive baseline, with that baseline's cross-validated predictions as
    ``y_pred`` (fitted on the same folds)."""
    pairs = table.rename(columns={"y_true": "value"})[["sample", "drug", "value"]]
    return {
        name: table.assign(y_pred=cross_validate(baseline, pairs, table["fold"].to_numpy()))
        for name, baseline in NAIVE_BASELINES.items()
    }


def cross_validated_scores(oof: pd.DataFrame, model_label: str) -> pd.DataFrame:
    """One row for the model and one per naive baseline, every metric of :func:`score_all`."""
    table = scored_table(oof)
    rows = [{"model": model_label, **score_all(table)}]
    rows += [{"model": name, **score_all(naive)} for name, naive in naive_predictions(table).items()]
    return pd.DataFrame(rows)


def per_drug_reliability(oof: pd.DataFrame) -> pd.DataFrame:
    """Per drug: samples, fold-centred within-drug Pearson r (0 = no better than the per-drug mean, and no
    credit for what merely shifts from one cross-validation fold to the next)."""
    return within_drug_fold_per_drug(scored_table(oof))
