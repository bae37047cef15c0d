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
