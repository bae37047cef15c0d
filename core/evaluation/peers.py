"""Score the published Prasse et al. 2022 cross-validation predictions next to naive baselines on the same folds.

The peer file holds the paper's held-out predictions (``y_scaled``, ``pred_scaled``: min-max scaled target).
Naive baselines are refitted here on each fold's training pairs from the cohort's ``prasse2022_pairs`` file
(all pairs of the dataset outside the test fold) on the same scaled target, so every row of the summary is
scored on identical pairs and folds.

The normalised within-drug score needs a per-pair reference prediction (``baseline``). In precision
oncology that is ``naive_drug_mean``, as defined in metrics.py. In drug development the test drug is unseen,
so it has no training mean; there ``naive_sample_mean`` (the sample's mean response to the training drugs)
is the reference instead, and the normalised score asks whether a model orders patients for a new drug
better than their general sensitivity does.
"""
from __future__ import annotations

import pandas as pd

from core.config import data_root
from core.data.registry import load_cohort
from core.evaluation.baselines import NAIVE_BASELINES, cross_validate
from core.evaluation.metrics import score_all
from core.evaluation.splits import SPLIT_GROUP, paper_folds

PEER_FILE = "peer_predictions/prasse2022_cv_predictions.csv.gz"
PEER_DATASETS = ("pancreas", "beat_aml", "ccle")
REFERENCE_BASELINE = {"precision_oncology": "naive_drug_mean", "drug_development": "naive_sample_mean"}
SUMMARY_KEYS = ["dataset", "split", "model", "n_finetune"]


def load_peer_predictions() -> pd.DataFrame:
    """The paper's held-out predictions, one row per dataset, split, model, fine-tuning size and pair."""
    return pd.read_csv(data_root() / PEER_FILE, dtype={"sample": str, "drug": str})


def naive_cv_predictions(dataset: str, split: str) -> pd.DataFrame:
    """Held-out predictions of every naive baseline on the paper's ``split`` folds of ``dataset``.

    Long table ``model, fold, sample, drug, y_true, y_pred`` on the scaled target.
    """
    cohort = load_cohort(dataset)
    pairs = cohort.responses[["sample", "drug"]].assign(value=cohort.responses["y_scaled"])
    folds = paper_folds(cohort, split)
    return pd.concat(
        [
            pairs[["sample", "drug"]].assign(
                model=name, fold=folds, y_true=pairs["value"], y_pred=cross_validate(baseline, pairs, folds)
            )
            for name, baseline in NAIVE_BASELINES.items()
        ],
        ignore_index=True,
    )


def _scored(table: pd.DataFrame, reference: pd.DataFrame, keys: dict[str, object]) -> dict[str, object]:
    """One summary row: ``keys`` plus every metric of ``table`` with the reference baseline attached."""
    with_baseline = table.merge(reference, on=["sample", "drug"], how="left", validate="one_to_one")
    if with_baseline["baseline"].isna().any():
        raise ValueError(f"{keys}: predictions for pairs outside the cohort's pairs file")
    return {**keys, "n_pairs": len(table), **score_all(with_baseline)}


def peer_summary(datasets: tuple[str, ...] = PEER_DATASETS, largest_only: bool = True) -> pd.DataFrame:
    """Every metric per dataset, split, model and fine-tuning size, naive baselines included.

    ``largest_only`` keeps each model's largest fine-tuning set (the paper's headline runs). Naive
    baselines train on all training pairs of the fold; their ``n_finetune`` is missing.
    """
    peers = load_peer_predictions()
    if largest_only:
        largest = peers.groupby(["dataset", "split", "model"])["n_finetune_pairs"].transform("max")
        peers = peers[peers["n_finetune_pairs"] == largest]
    rows = []
    for dataset in datasets:
        for split in SPLIT_GROUP:
            naive = naive_cv_predictions(dataset, split)
            reference = naive.loc[naive["model"] == REFERENCE_BASELINE[split], ["sample", "drug", "y_pred"]]
            reference = reference.rename(columns={"y_pred": "baseline"})
            for model, table in naive.groupby("model", sort=False):
                rows.append(_scored(table, reference, {"dataset": dataset, "split": split, "model": model}))
            selected = peers[(peers["dataset"] == dataset) & (peers["split"] == split)]
            for (model, size), table in selected.groupby(["model", "n_finetune_pairs"]):
                table = table.rename(columns={"y_scaled": "y_true", "pred_scaled": "y_pred"})
                rows.append(_scored(table, reference, {
                    "dataset": dataset, "split": split, "model": model, "n_finetune": size,
                }))
    summary = pd.DataFrame(rows)
    summary["n_finetune"] = summary["n_finetune"].astype("Int64")
    return summary[[*SUMMARY_KEYS, *[c for c in summary.columns if c not in SUMMARY_KEYS]]]
