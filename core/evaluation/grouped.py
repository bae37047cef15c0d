"""Score a long table of held-out predictions from many models at once, and compare models fold by fold.

The table has columns ``dataset, split, model, n_finetune, fold, sample, drug, y_true, y_pred``, with the
naive baselines as models whose name contains "naive". The normalised within-drug score of each row is
taken against that dataset and split's reference baseline on the same pair: ``naive_drug_mean`` in
precision oncology (cell cold-start), ``naive_sample_mean`` in drug development, where the test drug is
unseen and has no training mean (see metrics.py and peers.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.evaluation.metrics import METRICS, score_all, within_drug_per_drug
from core.evaluation.stats import paired_t_test, per_fold
from core.study_design import CELL, DRUG

REFERENCE_BASELINE = {CELL: "naive_drug_mean", DRUG: "naive_sample_mean"}
KEYS = ["dataset", "split", "model", "n_finetune"]
PAPER_SCORE = {CELL: "paper_precision_oncology", DRUG: "paper_drug_development"}


def with_baseline(predictions: pd.DataFrame) -> pd.DataFrame:
    """``predictions`` plus ``baseline``: the reference naive prediction of the same dataset, split and pair."""
    reference = predictions[predictions["model"] == predictions["split"].map(REFERENCE_BASELINE)]
    reference = reference[["dataset", "split", "sample", "drug", "y_pred"]].rename(columns={"y_pred": "baseline"})
    if reference.duplicated(["dataset", "split", "sample", "drug"]).any():
        raise ValueError("a reference baseline predicts some pair twice; each pair must be in one test fold")
    merged = predictions.merge(reference, on=["dataset", "split", "sample", "drug"], how="left")
    missing = merged["baseline"].isna()
    if missing.any():
        groups = merged.loc[missing, ["dataset", "split"]].drop_duplicates().to_records(index=False).tolist()
        raise ValueError(f"no reference baseline for some pairs of {groups}; add the naive rows first")
    return merged


def summarise(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset, split, model and fine-tuning size with every metric of ``score_all``."""
    table = with_baseline(predictions)
    rows = [
        {**dict(zip(KEYS, keys)), "n_pairs": len(group), **score_all(group)}
        for keys, group in table.groupby(KEYS, sort=True, dropna=False)
    ]
    return pd.DataFrame(rows)


def _unit_scores(rows: pd.DataFrame, metric: str, unit: str) -> pd.Series:
    """``metric`` per fold, or (within-drug score only) per drug with folds pooled."""
    if unit == "drug":
        return within_drug_per_drug(rows).set_index("drug")["r"]
    return per_fold(rows, METRICS[metric].compute)


def _rows_of(table: pd.DataFrame, model: str, n_finetune: str) -> pd.DataFrame:
    return table[(table["model"] == model) & (table["n_finetune"].fillna("") == n_finetune)]


def compare(
    predictions: pd.DataFrame, a: tuple[str, str], b: tuple[str, str], dataset: str, split: str, metric: str
) -> dict[str, object]:
    """Paired two-sided t-test of models ``a`` and ``b`` (each ``(model, n_finetune)``) on one dataset and split.

    The units are folds. For the within-drug score they are drugs (folds pooled) when some fold holds too
    few samples to order (a 19-organoid cohort in 5 folds leaves 3-4 per fold); the table says which.
    """
    table = with_baseline(predictions[(predictions["dataset"] == dataset) & (predictions["split"] == split)])
    rows = {key: _rows_of(table, *key) for key in (a, b)}
    unit = "fold"
    scores = {key: _unit_scores(rows[key], metric, unit) for key in (a, b)}
    if metric == "within_drug_pearson" and any(s.isna().any() for s in scores.values()):
        unit = "drug"
        scores = {key: _unit_scores(rows[key], metric, unit) for key in (a, b)}
    joined = pd.concat([scores[a], scores[b]], axis=1, keys=["a", "b"]).dropna()
    row = {
        "dataset": dataset,
        "split": split,
        "metric": metric,
        "model_a": a[0],
        "n_finetune_a": a[1],
        "model_b": b[0],
        "n_finetune_b": b[1],
        "unit": unit,
        "n": len(joined),
        "mean_a": float(joined["a"].mean()),
        "mean_b": float(joined["b"].mean()),
        "difference": float((joined["a"] - joined["b"]).mean()),
        "t": np.nan,
        "p_value": np.nan,
    }
    if len(joined) >= 2:  # otherwise (an unfinished grid) the test is left blank
        result = paired_t_test(joined["a"].to_numpy(), joined["b"].to_numpy())
        row.update(t=result.statistic, p_value=result.p_value)
    return row


def best_naive(summary: pd.DataFrame, dataset: str, split: str, metric: str) -> str:
    """The naive baseline with the best pooled ``metric`` on this dataset and split (the bar to clear), best in
    the metric's registered direction.

    The reference baseline scores exactly 0 on the normalised within-drug score by construction; it is
    still a legitimate bar, and any naive baseline above 0 is the harder one.
    """
    naive = summary[
        (summary["dataset"] == dataset) & (summary["split"] == split) & summary["model"].str.contains("naive")
    ]
    scores = naive.set_index("model")[metric].astype(float)
    if not scores.notna().any():
        return str(np.nan)
    return str(scores.idxmax() if METRICS[metric].higher_is_better else scores.idxmin())
