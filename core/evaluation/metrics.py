"""The one place the project's accuracy metrics are defined.

Every metric takes a long prediction table with columns ``sample, drug, y_true, y_pred``; the normalised
within-drug score also needs ``baseline``, the naive per-drug training mean of that pair's fold (the
prediction of ``naive_drug_mean``). Pearson r is undefined for fewer than 3 points or a constant vector; such
groups are skipped (NaN, left out of the mean) unless a function says otherwise, so a metric is NaN only
when no group qualifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

Method = Literal["pearson", "spearman"]

MIN_GROUP = 3  # fewest points a per-sample or per-drug Pearson r is computed on
CONSTANT_TOLERANCE = 1e-6  # a vector whose range is below this (relative) counts as constant: float32 storage noise


def _is_constant(values: np.ndarray) -> bool:
    """True when ``values`` carry no ordering; floating noise around one value counts as constant."""
    return bool(np.ptp(values) <= CONSTANT_TOLERANCE * max(1.0, float(np.abs(values).max())))


def _correlation(x: np.ndarray, y: np.ndarray, method: Method) -> float:
    """Pearson r of x and y, or of their ranks (Spearman); assumes neither is constant."""
    if method == "spearman":
        from scipy.stats import rankdata  # scipy.stats costs 2-4 s to import: only a score needs it, not a label

        x, y = rankdata(x), rankdata(y)
    return float(np.corrcoef(x, y)[0, 1])


def _per_group_correlation(
    df: pd.DataFrame,
    by: str,
    x: pd.Series,
    y: pd.Series,
    method: Method,
    min_n: int,
    constant_prediction_is_zero: bool,
) -> pd.DataFrame:
    """Correlation of ``x`` (observed) and ``y`` (predicted) within each group of ``df[by]``.

    Groups with fewer than ``min_n`` rows or a constant observed vector get NaN. A constant predicted
    vector gets 0 when ``constant_prediction_is_zero`` (a prediction that orders nothing adds no ordering),
    else NaN.
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', not {method!r}")
    x_values, y_values = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
    rows = []
    for key, index in df.groupby(by, sort=True).indices.items():
        observed, predicted = x_values[index], y_values[index]
        r = np.nan
        if len(index) >= min_n and not _is_constant(observed):
            if not _is_constant(predicted):
                r = _correlation(observed, predicted, method)
            elif constant_prediction_is_zero:
                r = 0.0
        rows.append({by: key, "n": len(index), "r": r})
    return pd.DataFrame(rows, columns=[by, "n", "r"])


def _mean_or_nan(values: pd.Series) -> float:
    """Mean of the non-missing values; NaN (no warning) when there are none."""
    values = values.dropna()
    return float(values.mean()) if len(values) else float("nan")


def paper_precision_oncology(df: pd.DataFrame) -> float:
    """The paper's precision-oncology score: per sample, Pearson r across drugs; mean over samples.

    Samples with fewer than 3 drugs, or with constant observed or predicted values, are skipped. This score
    is dominated by how potent each drug is on average (the per-drug mean alone scores about 0.92 on the
    pancreatic folds), so read it next to the naive baselines.
    """
    per_sample = _per_group_correlation(df, "sample", df["y_true"], df["y_pred"], "pearson", MIN_GROUP, False)
    return _mean_or_nan(per_sample["r"])


def paper_drug_development(df: pd.DataFrame) -> float:
    """The paper's drug-development score: per drug, Pearson r across samples; mean over drugs.

    Drugs with fewer than 3 samples, or with constant observed or predicted values, are skipped.
    """
    per_drug = _per_group_correlation(df, "drug", df["y_true"], df["y_pred"], "pearson", MIN_GROUP, False)
    return _mean_or_nan(per_drug["r"])


def within_drug_per_drug(
    df: pd.DataFrame, method: Method = "pearson", min_samples: int = 5, normalised: bool = True
) -> pd.DataFrame:
    """Per drug (columns ``drug, n, r``): correlation across the samples of ``df``, folds pooled.

    This is the ordering of patients a per-drug z-score relies on. With ``normalised`` the correlation is
    taken between ``y_true - baseline`` and ``y_pred - baseline``: pooling folds otherwise rewards or
    punishes the fold-to-fold wobble of the training mean (the naive per-drug mean scores about -0.45 raw on
    the paper's pancreatic folds). A constant (residual) prediction scores 0, not NaN, so the naive
    baseline itself scores exactly 0 and a model's score is the ordering it adds. ``r`` is NaN for drugs
    with fewer than ``min_samples`` samples or constant observed values.
    """
    observed, predicted = df["y_true"], df["y_pred"]
    if normalised:
        if "baseline" not in df.columns:
            raise KeyError("the normalised within-drug score needs a 'baseline' column (naive_drug_mean)")
        observed, predicted = observed - df["baseline"], predicted - df["baseline"]
    return _per_group_correlation(df, "drug", observed, predicted, method, max(min_samples, MIN_GROUP), True)


def within_drug(df: pd.DataFrame, method: Method = "pearson", min_samples: int = 5, normalised: bool = True) -> float:
    """Mean over drugs with >= ``min_samples`` samples of :func:`within_drug_per_drug`."""
    return _mean_or_nan(within_drug_per_drug(df, method, min_samples, normalised)["r"])


def centred_in_fold(df: pd.DataFrame, column: str) -> pd.Series:
    """``column`` minus its mean over the samples of the same drug and test fold (column ``fold``)."""
    if "fold" not in df.columns:
        raise KeyError("the fold-centred within-drug score needs a 'fold' column (the test fold of each pair)")
    return df[column] - df.groupby(["drug", "fold"], sort=False)[column].transform("mean")


def within_drug_fold_per_drug(df: pd.DataFrame, method: Method = "pearson", min_samples: int = 5) -> pd.DataFrame:
    """Per drug (columns ``drug, n, r``): the headline within-drug score, which fold effects cannot fake.

    Observed and predicted values are centred per drug within each test fold, then pooled over folds and
    correlated. Whatever a prediction does from one fold to the next (a training mean that shifts, the
    naive per-sample mean, a model that only moves with its fold's training set) is removed, so every
    prediction that is constant within a test fold scores exactly 0; only the ordering of the samples
    *inside* a fold counts. Pooled residuals (:func:`within_drug_per_drug`) credited the naive per-sample
    mean with 0.355 on the colorectal organoids. ``r`` is NaN for drugs with fewer than ``min_samples``
    samples or constant (centred) observed values.
    """
    return _per_group_correlation(
        df,
        "drug",
        centred_in_fold(df, "y_true"),
        centred_in_fold(df, "y_pred"),
        method,
        max(min_samples, MIN_GROUP),
        True,
    )


def within_drug_fold(df: pd.DataFrame, method: Method = "pearson", min_samples: int = 5) -> float:
    """Mean over drugs of :func:`within_drug_fold_per_drug`."""
    return _mean_or_nan(within_drug_fold_per_drug(df, method, min_samples)["r"])


class TopKAgreement(NamedTuple):
    """Mean overlap of the predicted and observed top-k drugs, and what random ranking would give."""

    overlap: float
    random: float


def _per_drug_z(df: pd.DataFrame, column: str) -> pd.Series:
    """z-score of ``column`` within each drug across the samples of ``df``; 0 for a constant drug."""
    grouped = df.groupby("drug")[column]
    spread = grouped.transform("std", ddof=0)
    z = (df[column] - grouped.transform("mean")) / spread
    return z.where(spread > 0, 0.0)


TOP_DRUGS_OVERLAP = 5  # k of the stored top-k overlap: drugs compared per sample (column names top5_*)


def top_k_agreement(df: pd.DataFrame, k: int = TOP_DRUGS_OVERLAP) -> TopKAgreement:
    """Per sample, how many of the k drugs with the lowest predicted z-score are among the k lowest observed.

    z-scores are per drug across the samples of ``df`` (lower = more sensitive), as the dashboard ranks
    drugs. Ties (e.g. a drug predicted identically for every sample, z = 0) are broken by table order.
    Samples with k or fewer drugs are skipped, since any ranking would then agree fully. The random
    expectation of the overlap is k*k/n_drugs per sample (hypergeometric mean), averaged over the same
    samples. Predictions pooled over folds carry each fold's shift of the training mean into the z-scores
    (the naive per-drug mean falls below random on the pancreatic folds), so compare with the naive
    baselines too, not only with the random expectation.
    """
    table = df.assign(z_true=_per_drug_z(df, "y_true"), z_pred=_per_drug_z(df, "y_pred"))
    n_drugs = table.groupby("sample")["drug"].transform("size")
    table = table[n_drugs > k]
    if table.empty:
        return TopKAgreement(float("nan"), float("nan"))
    top_true, top_pred = (
        table.sort_values(column, kind="stable").groupby("sample").head(k)[["sample", "drug"]]
        for column in ("z_true", "z_pred")
    )
    drugs_per_sample = table.groupby("sample").size()
    overlap = top_true.merge(top_pred).groupby("sample").size().reindex(drugs_per_sample.index, fill_value=0)
    return TopKAgreement(float(overlap.mean()), float((k * k / drugs_per_sample).mean()))


def mse(df: pd.DataFrame) -> float:
    """Mean squared error on whatever scale the table is in (callers pass the scaled target)."""
    return float(np.mean((df["y_true"].to_numpy() - df["y_pred"].to_numpy()) ** 2))


@dataclass(frozen=True)
class Metric:
    """One metric as every table, page and report shows it, so that a new metric is this entry plus its function.

    ``key`` is the column of benchmark files and bundle benchmarks (committed files read by it, so never
    renamed). ``needs``: columns beyond ``sample, drug, y_true, y_pred``; without them the metric is NaN.
    ``higher_is_better`` is None for a reference level that is no score (the top-k overlap by chance).
    ``description`` completes "**label**: ..." in a caption.
    """

    key: str
    compute: Callable[[pd.DataFrame], float]
    label: str
    higher_is_better: bool | None
    needs: tuple[str, ...] = ()
    description: str = ""


HEADLINE = "within_drug_fold_pearson"
METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric(
            "paper_precision_oncology",
            paper_precision_oncology,
            "paper score",
            True,
            description="the score of Prasse et al. (per organoid, how well predicted and observed responses agree "
            "across drugs); it mostly rewards knowing which drugs are potent on average, so the naive "
            "per-drug mean wins it (undefined for the per-organoid mean, which predicts every drug of an organoid alike).",
        ),
        Metric(
            "paper_drug_development",
            paper_drug_development,
            "paper drug score",
            True,
            description="per drug across organoids, folds pooled.",
        ),
        Metric(
            HEADLINE,
            partial(within_drug_fold, method="pearson"),
            "within-drug r",
            True,
            ("fold",),
            description="for each drug, how well the model's predictions order the reference organoids, each "
            "predicted by a model that never saw it (1 = perfect order, 0 = no better than the drug's "
            "average); averaged over drugs.",
        ),
        Metric(
            "within_drug_fold_spearman",
            partial(within_drug_fold, method="spearman"),
            "within-drug Spearman",
            True,
            ("fold",),
        ),
        Metric(
            "within_drug_pearson",
            partial(within_drug, method="pearson"),
            "within-drug r, pooled residuals (older)",
            True,
            ("baseline",),
            description="the score used before the within-drug r; it pooled organoids of different cross-validation "
            "folds, so it credited what merely shifts from fold to fold (the naive per-organoid mean "
            "scored 0.355 on it with no knowledge of any drug). The within-drug r centres each test fold "
            "first, so every naive baseline scores exactly 0.",
        ),
        Metric(
            "within_drug_spearman",
            partial(within_drug, method="spearman"),
            "within-drug Spearman, pooled residuals (older)",
            True,
            ("baseline",),
        ),
        Metric(
            "within_drug_pearson_raw",
            partial(within_drug, method="pearson", normalised=False),
            "within-drug r, pooled raw values",
            True,
        ),
        Metric(
            f"top{TOP_DRUGS_OVERLAP}_overlap",
            lambda df: top_k_agreement(df).overlap,
            f"top-{TOP_DRUGS_OVERLAP} overlap",
            True,
            description=f"how many of the {TOP_DRUGS_OVERLAP} drugs predicted best for an organoid are among its "
            f"{TOP_DRUGS_OVERLAP} best observed (0-{TOP_DRUGS_OVERLAP}), averaged over organoids.",
        ),
        Metric(
            f"top{TOP_DRUGS_OVERLAP}_random",
            lambda df: top_k_agreement(df).random,
            f"top-{TOP_DRUGS_OVERLAP} by chance",
            None,
            description="the overlap a random ranking reaches on average.",
        ),
        Metric("mse", mse, "MSE", False, description="mean squared error on the response scaled to 0-1."),
    )
}


def score_all(df: pd.DataFrame) -> dict[str, float]:
    """Every metric of :data:`METRICS`, keyed by its key; NaN for a metric whose ``needs`` columns are missing
    (the residual within-drug scores without ``baseline``, the fold-centred headline ones without ``fold``)."""
    return {
        key: metric.compute(df) if set(metric.needs) <= set(df.columns) else float("nan")
        for key, metric in METRICS.items()
    }


def glossary(keys: list[str] | tuple[str, ...]) -> str:
    """A caption explaining the metrics ``keys`` in order: "**label**: description" for each that has one."""
    return " ".join(f"**{METRICS[key].label}**: {METRICS[key].description}" for key in keys if METRICS[key].description)
