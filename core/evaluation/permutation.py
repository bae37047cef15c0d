"""The permutation null of the headline within-drug score: could a model's ordering of samples be chance?

Samples are shuffled within their test fold, one permutation for all drugs: an organoid that is more
sensitive to everything keeps its drugs together, so the null keeps the real correlation between drugs. A
pair whose new sample lacks the drug drops out. Every shuffle is scored with the fold-centred within-drug
Pearson (:func:`core.evaluation.metrics.within_drug_fold`), here on dense (sample x drug) arrays for a block of
permutations at once: shuffling and scoring a pandas table took about 65 ms, a minute per 1,000
permutations of one model on 19 organoids x 74 drugs, and 13 s for the 200 the app runs on a session's bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.metrics import CONSTANT_TOLERANCE, MIN_GROUP

BLOCK = 64  # permutations scored together: bounds memory at BLOCK x samples x drugs


@dataclass(frozen=True)
class PermutationTest:
    """Observed score, the scores of ``n_permutations`` shuffles, and the one-sided p-value (score >= observed)."""

    observed: float
    null_mean: float
    null_sd: float
    p_value: float
    n_permutations: int


@dataclass(frozen=True)
class SampleGrid:
    """A prediction table as (fold, sample) x drug arrays: ``observed`` and ``predicted`` are NaN where the table
    has no pair; ``fold`` is the test fold of each row, ``drugs`` the drug of each column."""

    fold: np.ndarray
    observed: np.ndarray
    predicted: np.ndarray
    drugs: np.ndarray

    @classmethod
    def from_table(cls, df: pd.DataFrame) -> "SampleGrid":
        """From a long table with columns ``fold, sample, drug, y_true, y_pred`` (one row per fold, sample and drug)."""
        if df.duplicated(["fold", "sample", "drug"]).any():
            raise ValueError("the permutation test needs one row per fold, sample and drug")
        rows, units = pd.factorize(pd.MultiIndex.from_frame(df[["fold", "sample"]]))
        columns, drugs = pd.factorize(df["drug"])
        observed = np.full((len(units), len(drugs)), np.nan)
        predicted = observed.copy()
        observed[rows, columns] = df["y_true"].to_numpy(float)
        predicted[rows, columns] = df["y_pred"].to_numpy(float)
        return cls(pd.factorize(units.get_level_values(0))[0], observed, predicted, np.asarray(drugs))

    def permutations(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` x rows array: in permutation k, row u receives the predictions of row ``[k, u]`` (same fold)."""
        drawn = np.empty((n, len(self.fold)), dtype=np.intp)
        for fold in np.unique(self.fold):
            members = np.flatnonzero(self.fold == fold)
            drawn[:, members] = members[rng.permuted(np.tile(np.arange(len(members)), (n, 1)), axis=1)]
        return drawn

    def per_drug_scores(self, permutations: np.ndarray, min_samples: int = 5) -> np.ndarray:
        """Permutations x drugs: the fold-centred within-drug Pearson of each drug under each permutation, NaN
        where the drug is not scored (too few samples or constant observed values), by the rules of
        :func:`core.evaluation.metrics.within_drug_fold_per_drug`."""
        predicted = self.predicted[permutations]  # permutations x rows x drugs
        present = ~np.isnan(self.observed)[None] & ~np.isnan(predicted)
        membership = (self.fold[None, :] == np.unique(self.fold)[:, None]).astype(float)  # folds x rows
        observed = _centred_per_fold(np.broadcast_to(self.observed, predicted.shape), present, membership)
        predicted = _centred_per_fold(predicted, present, membership)
        covariance = (observed * predicted).sum(axis=1)
        spread = np.sqrt((observed**2).sum(axis=1) * (predicted**2).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(_is_constant(predicted, present), 0.0, covariance / spread)
        scored = (present.sum(axis=1) >= max(min_samples, MIN_GROUP)) & ~_is_constant(observed, present)
        return np.where(scored, r, np.nan)

    def scores(self, permutations: np.ndarray, min_samples: int = 5) -> np.ndarray:
        """Fold-centred within-drug Pearson of each permutation's predictions (one value per row of
        ``permutations``), by the rules of :func:`core.evaluation.metrics.within_drug_fold`."""
        r = self.per_drug_scores(permutations, min_samples)
        n_scored = np.isfinite(r).sum(axis=1)
        return np.where(n_scored > 0, np.nansum(r, axis=1) / np.maximum(n_scored, 1), np.nan)


def _centred_per_fold(values: np.ndarray, present: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """``values`` minus their mean over the present rows of the same fold and drug; 0 where absent."""
    values = np.where(present, values, 0.0)
    totals = np.einsum("fu,kud->kfd", membership, values)
    counts = np.einsum("fu,kud->kfd", membership, present.astype(float))
    means = np.einsum("fu,kfd->kud", membership, totals / np.maximum(counts, 1.0))
    return np.where(present, values - means, 0.0)


def _is_constant(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per permutation and drug: the present values carry no ordering (range within float noise)."""
    highest = np.where(present, values, -np.inf).max(axis=1)
    lowest = np.where(present, values, np.inf).min(axis=1)
    largest = np.where(present, np.abs(values), 0.0).max(axis=1)
    return (highest - lowest) <= CONSTANT_TOLERANCE * np.maximum(1.0, largest)


def permutation_test(df: pd.DataFrame, n_permutations: int = 1000, seed: int = 0) -> PermutationTest:
    """How often the fold-centred within-drug Pearson of a prediction table (columns ``fold, sample, drug,
    y_true, y_pred``) reaches its observed value when samples are shuffled within folds: the null of a model
    that orders samples no better than chance."""
    grid = SampleGrid.from_table(df)
    rng = np.random.default_rng(seed)
    observed = float(grid.scores(np.arange(len(grid.fold))[None])[0])
    null = np.concatenate(
        [
            grid.scores(grid.permutations(min(BLOCK, n_permutations - start), rng))
            for start in range(0, n_permutations, BLOCK)
        ]
    )
    null = null[np.isfinite(null)]
    p_value = (1 + np.sum(null >= observed)) / (1 + len(null))
    return PermutationTest(observed, float(null.mean()), float(null.std(ddof=1)), float(p_value), len(null))
