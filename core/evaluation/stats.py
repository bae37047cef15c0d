"""Paired comparison of two models scored on the same cross-validation folds."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import ttest_rel


@dataclass(frozen=True)
class PairedTTest:
    """Result of :func:`paired_t_test`; ``mean_difference`` is model a minus model b."""

    statistic: float
    p_value: float
    mean_difference: float
    n_folds: int


def paired_t_test(scores_a: Sequence[float], scores_b: Sequence[float]) -> PairedTTest:
    """Two-sided paired t-test over folds, as in the paper.

    Folds share most of their training data, so fold scores are not independent and the p-value is
    optimistic (Nadeau & Bengio 2003); treat it as a screen, not proof.
    """
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError("need two equally long 1-D score vectors with at least 2 folds")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("fold scores contain NaN; drop those folds from both models first")
    result = ttest_rel(a, b)
    return PairedTTest(float(result.statistic), float(result.pvalue), float(np.mean(a - b)), len(a))


def per_fold(df: pd.DataFrame, metric: Callable[[pd.DataFrame], float], fold_column: str = "fold") -> pd.Series:
    """``metric`` computed on each fold's rows of a prediction table, indexed by fold."""
    scores = {fold: metric(rows) for fold, rows in df.groupby(fold_column, sort=True)}
    return pd.Series(scores, dtype=float).rename_axis(fold_column)


@dataclass(frozen=True)
class PermutationTest:
    """Observed score, the scores of ``n_permutations`` shuffles, and the one-sided p-value (score >= observed)."""

    observed: float
    null_mean: float
    null_sd: float
    p_value: float
    n_permutations: int


def shuffled_samples(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``df`` with every sample's predictions moved to another sample of the same test fold.

    One permutation of the samples serves every drug, so what ties a sample's drugs together (one organoid
    is more sensitive to everything) stays in the null; pairs whose new sample lacks the drug are dropped.
    """
    moved = []
    for _, rows in df.groupby("fold", sort=True):
        samples = rows["sample"].unique()
        mapping = dict(zip(samples, rng.permutation(samples)))
        moved.append(rows[["sample", "drug", "y_pred"]].assign(sample=rows["sample"].map(mapping)))
    predictions = pd.concat(moved, ignore_index=True)
    return df.drop(columns="y_pred").merge(predictions, on=["sample", "drug"], how="inner")


def permutation_test(df: pd.DataFrame, score: Callable[[pd.DataFrame], float], n_permutations: int = 1000,
                     seed: int = 0) -> PermutationTest:
    """How often ``score`` of a prediction table reaches its observed value when samples are shuffled within
    folds (:func:`shuffled_samples`): the null of a model that orders samples no better than chance."""
    rng = np.random.default_rng(seed)
    observed = score(df)
    null = np.array([score(shuffled_samples(df, rng)) for _ in range(n_permutations)])
    null = null[np.isfinite(null)]
    p_value = (1 + np.sum(null >= observed)) / (1 + len(null))
    return PermutationTest(float(observed), float(null.mean()), float(null.std(ddof=1)), float(p_value), len(null))
