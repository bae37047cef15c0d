"""Gather a grid's task results into the benchmark's files: predictions, summary, paired tests, clinical check.

All values are on each dataset's min-max scaled response (the paper's scaled target, computed over the
dataset's usable pairs), so MSE compares across datasets and with the paper's published predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.benchmark.clinical import FIRST_LINE, first_line_hits
from core.benchmark.grid import Profile
from core.benchmark.runner import collected_parts
from core.benchmark.tasks import folds, usable_pairs
from core.evaluation.baselines import naive_predictions_table
from core.evaluation.grouped import KEYS, PAPER_SCORE, best_naive, compare, summarise
from core.evaluation.peers import PEER_DATASETS, peer_predictions
from core.study_design import CELL

COLUMNS = [*KEYS, "fold", "sample", "drug", "y_true", "y_pred"]
TESTED_METRICS = ("paper", "within_drug_pearson")  # "paper" = the split's paper score
STORED_DECIMALS = 4


def naive_predictions(dataset: str, split: str, n_folds: int) -> pd.DataFrame:
    """Every naive baseline's held-out predictions on the benchmark's folds of ``dataset`` and ``split``."""
    table = naive_predictions_table(usable_pairs(dataset), folds(dataset, split, n_folds))
    return table.assign(dataset=dataset, split=split, n_finetune=pd.NA)


def min_max_scaled(table: pd.DataFrame) -> pd.DataFrame:
    """Min-max scale y_true and y_pred by the range of the dataset's usable pairs."""
    scaled = []
    for dataset, rows in table.groupby("dataset", sort=False):
        values = usable_pairs(dataset)["value"]
        low, high = float(values.min()), float(values.max())
        scaled.append(
            rows.assign(y_true=(rows["y_true"] - low) / (high - low), y_pred=(rows["y_pred"] - low) / (high - low))
        )
    return pd.concat(scaled, ignore_index=True)


def benchmark_predictions(profile: Profile, work_dir: Path, with_peers: bool = True) -> pd.DataFrame:
    """The long table of every held-out prediction: grid tasks, naive baselines on the same folds, and
    (``with_peers``) the paper's published predictions with naive baselines on the paper's folds."""
    own = [collected_parts(profile.tasks(), work_dir)]
    own += [naive_predictions(dataset, split, n) for (dataset, split), n in profile.folds.items()]
    tables = [min_max_scaled(pd.concat(own, ignore_index=True))]
    if with_peers:
        tables.append(peer_predictions(PEER_DATASETS, largest_only=False))
    table = pd.concat(tables, ignore_index=True)[COLUMNS]
    table["n_finetune"] = table["n_finetune"].astype("string")
    return table


def _pretrained_vs_scratch(models: set[str]) -> list[tuple[str, str]]:
    """(pre-trained, scratch) model-name pairs, ours (``x_finetuned``) and the paper's (``x_pretrain``)."""
    pairs = []
    for model in sorted(models):
        for suffix in ("_finetuned", "_pretrain"):
            if model.endswith(suffix) and model.removesuffix(suffix) + "_scratch" in models:
                pairs.append((model, model.removesuffix(suffix) + "_scratch"))
    return pairs


def _largest(summary: pd.DataFrame, model: str) -> str:
    sizes = summary.loc[summary["model"] == model, "n_finetune"].dropna().tolist()
    return "all" if "all" in sizes else max(sizes, key=int)


def paired_tests(predictions: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Pre-trained vs scratch at every shared fine-tuning size, and every model at its largest size (zero-shot
    included) vs the best naive baseline, on the split's paper score and the within-drug score."""
    rows = []
    for (dataset, split), scores in summary.groupby(["dataset", "split"], sort=True):
        models = set(scores["model"])
        for metric_name in TESTED_METRICS:
            metric = PAPER_SCORE[split] if metric_name == "paper" else metric_name
            for pretrained, scratch in _pretrained_vs_scratch(models):
                shared = set(scores.loc[scores["model"] == pretrained, "n_finetune"]) & set(
                    scores.loc[scores["model"] == scratch, "n_finetune"]
                )
                for size in sorted(shared - {pd.NA}, key=lambda s: float("inf") if s == "all" else int(s)):
                    rows.append(compare(predictions, (pretrained, size), (scratch, size), dataset, split, metric))
            naive = best_naive(scores, dataset, split, metric)
            for model in sorted(m for m in models if "naive" not in m):
                rows.append(compare(predictions, (model, _largest(scores, model)), (naive, ""), dataset, split, metric))
    return pd.DataFrame(rows)


def clinical_check(predictions: pd.DataFrame) -> pd.DataFrame:
    """First-line drug hits for every model of the cell cold-start grid at its largest size, and zero-shot."""
    rows = []
    for dataset in FIRST_LINE:
        cell = predictions[(predictions["dataset"] == dataset) & (predictions["split"] == CELL)]
        for (model, size), table in cell.groupby(["model", "n_finetune"], dropna=False):
            if pd.isna(size) or size in ("all", "0"):
                rows.append(first_line_hits(table, dataset).assign(dataset=dataset, model=model, n_finetune=size))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def stored_predictions(folder: Path) -> pd.DataFrame:
    """The ``predictions.parquet`` written by :func:`write_results`, with its key columns as strings."""
    table = pd.read_parquet(folder / "predictions.parquet")
    for column in ("dataset", "split", "model", "n_finetune", "sample", "drug"):
        table[column] = table[column].astype("string")
    return table


def write_results(predictions: pd.DataFrame, out: Path) -> dict[str, pd.DataFrame]:
    """Write predictions.parquet, summary.csv, paired_tests.csv and clinical_check.csv to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(predictions)
    results = {
        "summary": summary,
        "paired_tests": paired_tests(predictions, summary),
        "clinical_check": clinical_check(predictions),
    }
    stored = predictions.assign(
        **{c: predictions[c].round(STORED_DECIMALS).astype(np.float32) for c in ("y_true", "y_pred")}
    )
    for column in ("dataset", "split", "model", "n_finetune", "sample", "drug"):
        stored[column] = stored[column].astype("category")
    stored = stored.sort_values(["dataset", "split", "model", "n_finetune", "sample", "drug"])  # runs compress well
    stored.to_parquet(out / "predictions.parquet", index=False, compression="zstd", compression_level=19)
    for name, table in results.items():
        table.to_csv(out / f"{name}.csv", index=False, float_format="%.4g")
    return results
