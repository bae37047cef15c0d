"""Each drug's reliability: how well a model orders samples within that drug, as one estimate with an interval.

A per-drug within-drug r from 19 organoids has a standard error of about 0.3 on the Fisher-z scale, so the raw
per-drug numbers mostly show noise. The estimate here pools the drugs (empirical Bayes on Fisher-z): every drug's
z = atanh(r) is a noisy look at its true value, the true values spread around a common mean with a between-drug
variance tau^2 estimated from the data (DerSimonian-Laird), and each drug is shrunk towards the mean by how noisy
it is against tau^2. With tau^2 = 0 every drug gets the common mean: the data cannot tell the drugs apart.

Sources of evidence on one drug (organoid cross-validation, held-out cell lines) are first combined by inverse
variance on the Fisher-z scale, so a drug with more evidence is shrunk less.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.cohort_scores import scored_table
from core.evaluation.metrics import within_drug_fold_per_drug

INTERVAL_Z = 1.959964  # two-sided 95 %
NULL_PERMUTATIONS = 200  # per-drug null SD within a few % (SD of an SD estimate: 1/sqrt(2 x 200) = 5 %)


@dataclass(frozen=True)
class DrugEvidence:
    """One source's per-drug within-drug r and the standard error of its Fisher z."""

    source: str
    table: pd.DataFrame  # columns drug, n, r, se
    mean_se: float  # the SE of the mean Fisher z over drugs: drugs share their samples, so it is not se / sqrt(k)

    def fisher(self) -> pd.DataFrame:
        """Per drug: Fisher z and its standard error; drugs without a defined r or error dropped."""
        table = self.table.dropna(subset=["r", "se"])
        return pd.DataFrame(
            {"drug": table["drug"].to_numpy(), "z": np.arctanh(table["r"].clip(-0.999, 0.999)), "se": table["se"]}
        )


def cross_validated_evidence(
    out_of_fold: pd.DataFrame, source: str = "organoids", n_permutations: int = NULL_PERMUTATIONS, seed: int = 0
) -> DrugEvidence:
    """Per-drug fold-centred within-drug r of a bundle's out-of-fold predictions (columns sample, drug, y_pred,
    y_true, fold), each with the SD of its Fisher z under the permutation null (samples shuffled within folds) as
    its standard error, never below the textbook 1/sqrt(n - 3). The textbook value alone does not hold here: fold
    centring removes a mean per fold, and the models' predictions are far from normal (measured on the committed
    bundles: 0.25-0.35, largest for the zero-shot bundles). The same permutations give the SE of the mean over
    drugs, which shared samples make far larger than independent drugs would."""
    from core.evaluation.permutation import SampleGrid

    table = scored_table(out_of_fold)
    per_drug = within_drug_fold_per_drug(table)
    grid = SampleGrid.from_table(table)
    null = grid.per_drug_scores(grid.permutations(n_permutations, np.random.default_rng(seed)))
    fisher_null = np.arctanh(np.clip(null, -0.999, 0.999))
    with np.errstate(invalid="ignore"):
        null_sd = pd.Series(np.nanstd(fisher_null, axis=0, ddof=1), index=grid.drugs, name="se")
        mean_se = float(np.nanstd(np.nanmean(fisher_null, axis=1), ddof=1))
    table = per_drug.merge(null_sd, left_on="drug", right_index=True, how="left")
    table["se"] = np.fmax(table["se"], 1 / np.sqrt(np.maximum(table["n"] - 3, 1)))
    return DrugEvidence(source, table, mean_se)


def combined_fisher(sources: Sequence[DrugEvidence]) -> pd.DataFrame:
    """Per drug: the inverse-variance mean of its Fisher z over the sources that score it, and its SE."""
    stacked = pd.concat([source.fisher() for source in sources], ignore_index=True)
    stacked["weight"] = 1 / stacked["se"] ** 2
    grouped = stacked.assign(weighted=stacked["z"] * stacked["weight"]).groupby("drug", sort=True)
    weight = grouped["weight"].sum()
    return pd.DataFrame({"z": grouped["weighted"].sum() / weight, "se": 1 / np.sqrt(weight)}).reset_index()


@dataclass(frozen=True)
class ShrunkReliability:
    """Per-drug posterior of the within-drug correlation on the Fisher-z scale, and the pooled estimates."""

    table: pd.DataFrame  # drug, r_raw, z_raw, se_raw, z_mean, z_sd, r, r_low, r_high, better_than_coin
    mean_r: float  # the common mean over drugs
    mean_se: float  # its standard error on the Fisher-z scale
    between_drug_sd: float  # tau on the Fisher-z scale: 0 = the drugs cannot be told apart

    def for_drugs(self, drugs: Sequence[str]) -> pd.DataFrame:
        """The table reindexed on ``drugs``; a drug no source scored gets the common mean with its full spread
        (what is known about an unscored drug is what is known about drugs in general)."""
        table = self.table.set_index("drug").reindex(list(drugs))
        unscored = table["z_mean"].isna()
        if unscored.any():
            prior = posterior_interval(np.arctanh(self.mean_r), np.hypot(self.between_drug_sd, self.mean_se))
            for column, value in prior.items():
                table.loc[unscored, column] = value
        return table.rename_axis("drug").reset_index()


def posterior_interval(z_mean: float | np.ndarray, z_sd: float | np.ndarray) -> dict[str, object]:
    """The posterior's columns from its mean and SD on the Fisher-z scale: r, its 95 % interval, and whether the
    interval lies above 0 (a drug whose interval reaches 0 is ordered no better than a coin would)."""
    low, high = z_mean - INTERVAL_Z * z_sd, z_mean + INTERVAL_Z * z_sd
    return {
        "z_mean": z_mean,
        "z_sd": z_sd,
        "r": np.tanh(z_mean),
        "r_low": np.tanh(low),
        "r_high": np.tanh(high),
        "better_than_coin": low > 0,
    }


def shrink_across_drugs(fisher: pd.DataFrame, mean_se: float = 0.0) -> ShrunkReliability:
    """Empirical Bayes over drugs of per-drug Fisher z (columns drug, z, se): DerSimonian-Laird tau^2, then each
    drug's posterior mean mu + (1 - B)(z - mu) with B = se^2 / (se^2 + tau^2), and variance (1 - B) se^2 +
    B^2 Var(mu) (Morris), so the uncertainty of the common mean is carried too. ``mean_se``: a floor on the SE
    of mu where the drugs are not independent (they share samples)."""
    if len(fisher) < 2:
        raise ValueError("shrinking across drugs needs the evidence of at least 2 drugs")
    z, se = fisher["z"].to_numpy(float), fisher["se"].to_numpy(float)
    weight = 1 / se**2
    fixed_mean = np.sum(weight * z) / weight.sum()
    q = np.sum(weight * (z - fixed_mean) ** 2)
    tau2 = max(0.0, (q - (len(z) - 1)) / (weight.sum() - np.sum(weight**2) / weight.sum()))
    pooled_weight = 1 / (se**2 + tau2)
    mu = np.sum(pooled_weight * z) / pooled_weight.sum()
    mu_variance = max(1 / pooled_weight.sum(), mean_se**2)
    shrink = se**2 / (se**2 + tau2)
    z_mean = mu + (1 - shrink) * (z - mu)
    z_sd = np.sqrt((1 - shrink) * se**2 + shrink**2 * mu_variance)
    table = pd.DataFrame(
        {"drug": fisher["drug"].to_numpy(), "r_raw": np.tanh(z), "z_raw": z, "se_raw": se}
        | posterior_interval(z_mean, z_sd)
    )
    return ShrunkReliability(table, float(np.tanh(mu)), float(np.sqrt(mu_variance)), float(np.sqrt(tau2)))


def drug_reliability(sources: Sequence[DrugEvidence]) -> ShrunkReliability:
    """Every source combined per drug, then shrunk across drugs: the reliability the ranking weighs z with."""
    mean_se = 1 / np.sqrt(sum(1 / source.mean_se**2 for source in sources))
    return shrink_across_drugs(combined_fisher(sources), float(mean_se))
