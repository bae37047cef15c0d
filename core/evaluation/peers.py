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
from core.evaluation.baselines import naive_predictions_table
from core.evaluation.grouped import summarise
from core.evaluation.splits import SPLIT_GROUP, paper_folds

PEER_FILE = "peer_predictions/prasse2022_cv_predictions.csv.gz"
PEER_DATASETS = ("pancreas", "beat_aml", "ccle")


def load_peer_predictions() -> pd.DataFrame:
    """The paper's held-out predictions, one row per dataset, split, model, fine-tuning size and pair."""
    return pd.read_csv(data_root() / PEER_FILE, dtype={"sample": str, "drug": str})


def naive_cv_predictions(dataset: str, split: str) -> pd.DataFrame:
    """Held-out predictions of every naive baseline on the paper's ``split`` folds of ``dataset``.

    Long table ``model, fold, sample, drug, y_true, y_pred`` on the scaled target.
    """
    cohort = load_cohort(dataset)
    pairs = cohort.responses[["sample", "drug"]].assign(value=cohort.responses["y_scaled"])
    return naive_predictions_table(pairs, paper_folds(cohort, split))


def peer_predictions(datasets: tuple[str, ...] = PEER_DATASETS, largest_only: bool = True) -> pd.DataFrame:
    """The paper's held-out predictions and the naive baselines on their folds, in the benchmark's long format.

    Columns ``dataset, split, model, n_finetune, fold, sample, drug, y_true, y_pred`` (scaled target);
    ``n_finetune`` is the paper's fine-tuning-set size as text, missing for the naive baselines.
    ``largest_only`` keeps each model's largest fine-tuning set (the paper's headline runs).
    """
    peers = load_peer_predictions()
    peers = peers[peers["dataset"].isin(datasets)]
    if largest_only:
        largest = peers.groupby(["dataset", "split", "model"])["n_finetune_pairs"].transform("max")
        peers = peers[peers["n_finetune_pairs"] == largest]
    published = peers.rename(columns={"y_scaled": "y_true", "pred_scaled": "y_pred"}).assign(
        n_finetune=peers["n_finetune_pairs"].astype(str)
    )
    naive = [
        naive_cv_predictions(dataset, split).assign(dataset=dataset, split=split, n_finetune=pd.NA)
        for dataset in datasets
        for split in SPLIT_GROUP
    ]
    columns = ["dataset", "split", "model", "n_finetune", "fold", "sample", "drug", "y_true", "y_pred"]
    return pd.concat([*naive, published[columns]], ignore_index=True)[columns]


def peer_summary(datasets: tuple[str, ...] = PEER_DATASETS, largest_only: bool = True) -> pd.DataFrame:
    """Every metric per dataset, split, model and fine-tuning size, naive baselines included."""
    return summarise(peer_predictions(datasets, largest_only))
