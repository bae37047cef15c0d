"""A calibrated number per sample and drug: the probability that the sample is more sensitive to the drug than the
median reference sample, from its predicted z and the drug's reliability; and the scores that check it.

If the observed and predicted responses of a drug (each standardised over the reference samples) are bivariate
normal with correlation rho, then given a predicted z the observed one is normal with mean rho z and variance
1 - rho^2, so P(observed below the median) = Phi(-rho z / sqrt(1 - rho^2)) (lower response = more sensitive).
rho is not known: the probability is averaged over the drug's posterior on the Fisher-z scale
(:mod:`core.evaluation.reliability`). Two guards keep it honest:

- z is bounded by the reference range (the largest |z| among the reference samples' own cross-validated
  predictions): beyond it the model extrapolates, and its evidence says nothing about how far.
- a negative rho counts as 0: a model is never read backwards, so a drug whose ordering is no better than chance
  gets 1/2, a coin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.reliability import INTERVAL_Z, NULL_PERMUTATIONS

QUADRATURE_NODES = 24
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)  # for the standard normal
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr  # scipy.special is cheap; scipy.stats is not needed here

    return ndtr(x)


def p_more_sensitive(
    z: np.ndarray | pd.Series, z_mean: np.ndarray | pd.Series, z_sd: np.ndarray | pd.Series, bound: np.ndarray | float
) -> np.ndarray:
    """P(observed response below the reference median | predicted z), averaged over the drug's reliability
    posterior N(z_mean, z_sd^2) on the Fisher-z scale; z clipped to +-``bound``; rho floored at 0."""
    z = np.clip(np.asarray(z, float), -np.asarray(bound, float), np.asarray(bound, float))
    fisher = np.asarray(z_mean, float)[..., None] + np.asarray(z_sd, float)[..., None] * _NODES
    rho = np.clip(np.tanh(fisher), 0.0, 0.999)
    conditional = _normal_cdf(-rho * z[..., None] / np.sqrt(1 - rho**2))
    return conditional @ _WEIGHTS


COIN = 0.5


def calibrated_probability(
    z: np.ndarray | pd.Series, reliability: pd.DataFrame, bound: np.ndarray | pd.Series
) -> np.ndarray:
    """The number the ranking shows: :func:`p_more_sensitive` for a drug whose reliability interval lies above 0,
    and a coin's 1/2 for any other (columns z_mean, z_sd, better_than_coin of
    :meth:`core.evaluation.reliability.ShrunkReliability.for_drugs`, aligned with ``z``). Averaging over a
    posterior that straddles 0 would still move p with z, a lean the evidence does not support."""
    p = p_more_sensitive(z, reliability["z_mean"], reliability["z_sd"], bound)
    return np.where(reliability["better_than_coin"].to_numpy(bool), p, COIN)


def reference_z_bound(out_of_fold: pd.DataFrame) -> pd.Series:
    """Per drug: the largest |z| of the reference samples' own cross-validated predictions against their mean and
    SD, i.e. how far the evidence reaches."""
    grouped = out_of_fold.groupby("drug")["y_pred"]
    z = (out_of_fold["y_pred"] - grouped.transform("mean")) / grouped.transform("std")
    return z.abs().groupby(out_of_fold["drug"]).max().rename("z_bound")


# ----------------------------------------------------------------------------------------- checking calibration


def brier(p: np.ndarray, outcome: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, float) - np.asarray(outcome, float)) ** 2))


def calibration_slope(p: np.ndarray, outcome: np.ndarray) -> float:
    """The slope of a logistic regression of the outcome on logit(p): 1 = calibrated spread, below 1 = too
    confident, above 1 = too timid; NaN when p or the outcome does not vary."""
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    outcome = np.asarray(outcome, int)
    if np.ptp(p) < 1e-9 or outcome.min() == outcome.max():
        return float("nan")
    from sklearn.linear_model import LogisticRegression

    logit = np.log(p / (1 - p)).reshape(-1, 1)
    return float(LogisticRegression(C=np.inf).fit(logit, outcome).coef_[0, 0])


@dataclass(frozen=True)
class CalibrationScore:
    """Brier score and skill against a coin (0.5) and against each drug's base rate, the calibration slope, each
    with a bootstrap interval over samples (a sample's drugs are resampled together)."""

    n_pairs: int
    n_samples: int
    brier: float
    skill_vs_coin: tuple[float, float, float]  # estimate, 2.5 %, 97.5 %
    skill_vs_base_rate: tuple[float, float, float]
    slope: tuple[float, float, float]


def _scores(table: pd.DataFrame) -> tuple[float, float, float, float]:
    p, outcome, base_rate = (table[column].to_numpy(float) for column in ("p", "outcome", "base_rate"))
    model, coin, base = brier(p, outcome), brier(np.full_like(p, 0.5), outcome), brier(base_rate, outcome)
    skill_base = 1 - model / base if base > 0 else float("nan")
    return model, 1 - model / coin, skill_base, calibration_slope(p, outcome)


def calibration_score(table: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> CalibrationScore:
    """Scores of ``table`` (columns sample, drug, p, outcome) with percentile bootstrap intervals. Each drug's base
    rate is its share of outcomes in ``table``, kept fixed in the resamples: recomputed on a resample with repeated
    samples it would fit that resample and bias the skill against it downwards."""
    table = table.assign(base_rate=table.groupby("drug")["outcome"].transform("mean"))
    model, coin, base, slope = _scores(table)
    samples = table["sample"].unique()
    rows_of = table.groupby("sample").indices
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        picked = rng.choice(samples, size=len(samples), replace=True)
        resampled = table.iloc[np.concatenate([rows_of[s] for s in picked])]
        draws.append(_scores(resampled)[1:])
    low, high = np.nanpercentile(np.array(draws), [2.5, 97.5], axis=0)
    return CalibrationScore(
        len(table),
        len(samples),
        model,
        (coin, low[0], high[0]),
        (base, low[1], high[1]),
        (slope, low[2], high[2]),
    )


def reliability_bins(table: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """The reliability diagram's points: pairs grouped by predicted p into equal-width bins, mean p against the
    observed share, with a 95 % (Wilson) interval on the share."""
    edges = np.linspace(0, 1, n_bins + 1)
    binned = table.assign(bin=np.clip(np.digitize(table["p"], edges) - 1, 0, n_bins - 1))
    grouped = binned.groupby("bin").agg(p_mean=("p", "mean"), observed=("outcome", "mean"), n=("outcome", "size"))
    n, share = grouped["n"].to_numpy(float), grouped["observed"].to_numpy(float)
    centre = (share + INTERVAL_Z**2 / (2 * n)) / (1 + INTERVAL_Z**2 / n)
    half = INTERVAL_Z * np.sqrt(share * (1 - share) / n + INTERVAL_Z**2 / (4 * n**2)) / (1 + INTERVAL_Z**2 / n)
    return grouped.assign(low=centre - half, high=centre + half).reset_index()


def held_out_probabilities(
    out_of_fold: pd.DataFrame, coin_below_evidence: bool = True, n_permutations: int = NULL_PERMUTATIONS
) -> pd.DataFrame:
    """The calibrated number for every screened reference pair, with nothing of the sample itself behind it: for
    each sample, the drugs' reliability, z reference and bound come from the other samples' out-of-fold
    predictions, and the outcome is whether its measured response lies below the others' median.

    ``coin_below_evidence``: as the ranking shows it (:func:`calibrated_probability`), else the posterior average
    for every drug. Columns sample, drug, z, p, outcome (1 = more sensitive than the median of the others)."""
    from core.evaluation.reliability import cross_validated_evidence, drug_reliability

    screened = out_of_fold.dropna(subset=["y_true"])
    tables = []
    for sample in screened["sample"].unique():
        others = screened[screened["sample"] != sample]
        own = screened[screened["sample"] == sample].set_index("drug")
        evidence = cross_validated_evidence(others, n_permutations=n_permutations)
        reliability = drug_reliability([evidence]).for_drugs(own.index).set_index("drug")
        predicted = others.groupby("drug")["y_pred"].agg(["mean", "std"]).reindex(own.index)
        z = (own["y_pred"] - predicted["mean"]) / predicted["std"]
        bound = reference_z_bound(others).reindex(own.index)
        median = others.groupby("drug")["y_true"].median().reindex(own.index)
        tables.append(
            pd.DataFrame(
                {
                    "sample": sample,
                    "drug": own.index,
                    "z": z.to_numpy(),
                    "p": (
                        calibrated_probability(z, reliability, bound.to_numpy())
                        if coin_below_evidence
                        else p_more_sensitive(z, reliability["z_mean"], reliability["z_sd"], bound.to_numpy())
                    ),
                    "outcome": (own["y_true"] < median).astype(int).to_numpy(),
                }
            )
        )
    return pd.concat(tables, ignore_index=True).dropna(subset=["z", "p"])
