"""Cross-validation folds for the paper's two settings.

Precision oncology = cell cold-start: folds grouped by sample, so every test sample is unseen.
Drug development = drug cold-start: folds grouped by drug, so every test drug is unseen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.cohort import Cohort
from core.study_design import CELL, DRUG

SPLIT_GROUP: dict[str, str] = {CELL: "sample", DRUG: "drug"}


def _grouped_folds(groups: pd.Series, n_folds: int, seed: int) -> np.ndarray:
    """Fold number per row; groups shuffled by ``seed`` and dealt round-robin so fold sizes differ by <= 1 group."""
    names = np.array(sorted(groups.unique()))
    if not 2 <= n_folds <= len(names):
        raise ValueError(f"n_folds must be between 2 and the number of groups ({len(names)}), not {n_folds}")
    shuffled = np.random.default_rng(seed).permutation(names)
    fold_of = pd.Series(np.arange(len(shuffled)) % n_folds, index=shuffled)
    return groups.map(fold_of).to_numpy(dtype=int)


def cell_cold_start_folds(pairs: pd.DataFrame, n_folds: int = 10, seed: int = 0) -> np.ndarray:
    """Fold per row of ``pairs`` with no sample in two folds (precision-oncology setting)."""
    return _grouped_folds(pairs["sample"], n_folds, seed)


def drug_cold_start_folds(pairs: pd.DataFrame, n_folds: int = 10, seed: int = 0) -> np.ndarray:
    """Fold per row of ``pairs`` with no drug in two folds (drug-development setting)."""
    return _grouped_folds(pairs["drug"], n_folds, seed)


def paper_folds(cohort: Cohort, split: str) -> np.ndarray:
    """The Prasse et al. fold of each response row for ``split``, so results compare with the paper's."""
    if split not in SPLIT_GROUP:
        raise ValueError(f"split must be one of {sorted(SPLIT_GROUP)}, not {split!r}")
    column = f"fold_{split}"
    if column not in cohort.responses.columns:
        raise KeyError(f"{cohort.name} has no paper folds ({column}); use cell_ or drug_cold_start_folds")
    return cohort.responses[column].to_numpy(dtype=int)
