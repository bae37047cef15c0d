"""The tables of the model-performance page, built from what is already stored: each bundle's benchmark row
and precomputed evidence, and the benchmark grid's ``summary.csv``. Nothing here trains or permutes.

One number per model: the within-drug r of a shipped model is its evidence (fold-centred, from the
bundle's own reference predictions) wherever that model is shown. The learning curve's points are the
benchmark grid's own training runs on the same folds, so its "all pairs" point is another run of the same
model and differs from the shipped one by run-to-run variation; :func:`shipped_vs_grid` puts the two side by
side so the page can say so with the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from core.evaluation.cohort_scores import naive_predictions, scored_table
from core.evaluation.evidence import Evidence
from core.evaluation.metrics import HEADLINE, METRICS, within_drug_fold
from core.models import SPECS
from core.study_design import CELL, DRUG, TARGET_COHORT, TRAINING_LABELS

NAIVE_LABELS = {
    "naive_drug_mean": "naive: per-drug mean",
    "naive_sample_mean": "naive: per-organoid mean",
    "naive_additive": "naive: drug + organoid means",
}
# The scores a reader needs first, then the rest (shown under "details"); labels from the metric registry.
HEADLINE_SCORES = (HEADLINE, "paper_precision_oncology", "top5_overlap", "mse")
DETAIL_SCORES = (
    *HEADLINE_SCORES,
    "within_drug_fold_spearman",
    "within_drug_pearson",
    "within_drug_spearman",
    "paper_drug_development",
    "top5_random",
)
SCORE_LABELS = {key: METRICS[key].label for key in HEADLINE_SCORES}
DETAIL_SCORE_LABELS = {key: METRICS[key].label for key in DETAIL_SCORES}
# The registry's architectures, then the names the paper's stored results use for them.
ARCHITECTURE_LABELS = {name: spec.label for name, spec in SPECS.items()} | {
    "nn_baseline": "ConvNN",
    "nn_paccmann": "PaccMann",
    "tDNN": "tDNN",
}
CLASSICAL_LABELS = {
    "rf": "random forest",
    "rf_per_drug": "random forest, one per drug",
    "rf_drug_features": "random forest on genes + drug descriptors",
    "elasticnet_per_drug": "elastic net, one per drug",
    "elasticnet_drug_features": "elastic net on genes + drug descriptors",
}
SPLIT_LABELS = {CELL: "new patients", DRUG: "new drugs"}


def model_label(name: str) -> str:
    """A benchmark model key in plain words ("convnn_finetuned" -> "ConvNN, fine-tuned")."""
    if name in NAIVE_LABELS:
        return NAIVE_LABELS[name]
    if name in CLASSICAL_LABELS:
        return CLASSICAL_LABELS[name]
    architecture, _, training = name.rpartition("_")
    if architecture in ARCHITECTURE_LABELS and training in TRAINING_LABELS:
        return f"{ARCHITECTURE_LABELS[architecture]}, {TRAINING_LABELS[training]}"
    return name


def naive_scores(benchmark: pd.DataFrame, out_of_fold: pd.DataFrame) -> pd.DataFrame:
    """The naive baselines' rows of a bundle's stored benchmark with their headline within-drug r computed on
    the folds of its reference predictions (older bundles lack it; the same for every bundle of one cohort and
    fold partition). Only the headline is recomputed: the stored scores come from the same folds."""
    headline = pd.DataFrame(
        [
            {"model": name, HEADLINE: within_drug_fold(naive)}
            for name, naive in naive_predictions(scored_table(out_of_fold)).items()
        ]
    )
    stored = (
        benchmark[benchmark["model"].isin(NAIVE_LABELS)].drop(columns=HEADLINE, errors="ignore")
        if "model" in benchmark.columns
        else pd.DataFrame({"model": pd.Series(dtype=str)})
    )
    return headline.merge(stored, on="model", how="left")


def model_rows(models: Iterable[tuple[str, str, pd.DataFrame, Evidence]]) -> pd.DataFrame:
    """One row per shipped model from (architecture, training, its stored benchmark, its evidence): the stored
    scores with the headline within-drug r replaced by the evidence's (the number the evidence table and every
    ranking show), the evidence's p, chance level and verdict, plain labels, and ``key`` (architecture, training)."""
    rows = []
    for architecture, training, benchmark, found in models:
        stored = benchmark.iloc[0].to_dict() if not benchmark.empty else {}
        rows.append(
            stored
            | {
                "architecture": ARCHITECTURE_LABELS.get(architecture, architecture),
                "training": TRAINING_LABELS.get(training, training),
                "key": (architecture, training),
                HEADLINE: found.within_drug,
                "permutation p": found.p_value,
                "chance level (SD)": found.null_sd,
                "verdict": found.verdict().split(" (")[0],
                "orders": found.orders_samples,
            }
        )
    return pd.DataFrame(rows)


def single_run_seed_sd(spread: pd.DataFrame) -> pd.Series:
    """From ``seed_spread.csv``: each single model's SD over seeds of the (pooled) within-drug r, leaving out the
    rows of differences between two models ("a - b")."""
    single = spread[(spread["score"] == "within_drug_pearson") & ~spread["model"].str.contains(" - ")]
    return single["sd"]


def benchmark_table(model_rows: pd.DataFrame, naive: pd.DataFrame) -> pd.DataFrame:
    """The models' rows (columns architecture, training, scores; headline r = their evidence) and the naive
    baselines' (architecture "-", training = the baseline's plain name), every row kept."""
    baselines = naive.assign(architecture="-", training=naive["model"].map(NAIVE_LABELS))
    return pd.concat([model_rows, baselines], ignore_index=True).drop(columns="model", errors="ignore")


def size_curve(
    summary: pd.DataFrame, architectures: list[str], dataset: str = TARGET_COHORT, split: str = CELL
) -> pd.DataFrame:
    """The grid's deep models by number of training pairs, with an x position a log axis can draw: zero-shot
    (0 pairs) at half the smallest size, "all" at twice the largest (apart enough for their tick labels)."""
    cell = summary[(summary["dataset"] == dataset) & (summary["split"] == split)]
    parts = cell["model"].str.rpartition("_")
    curve = cell[cell["n_finetune"].notna() & parts[0].isin(architectures)].copy()
    curve["architecture"], curve["training"] = parts[0], parts[2]
    sizes = pd.to_numeric(curve["n_finetune"].replace("all", None), errors="coerce")
    trained = sizes[sizes > 0]
    smallest, largest = (trained.min(), trained.max()) if len(trained) else (10.0, 1000.0)
    curve["pairs"] = sizes.fillna(largest * 2).replace(0, smallest / 2)
    return curve.sort_values("pairs").reset_index(drop=True)


def shipped_vs_grid(curve: pd.DataFrame, shipped: dict[tuple[str, str], float], metric: str = HEADLINE) -> pd.DataFrame:
    """Per shipped model (architecture, training) -> its score, next to the grid's run of the same model on all pairs
    (zero-shot: the same pre-trained model, so the same number). Columns architecture, training, shipped, grid,
    difference."""
    ends = curve[curve["n_finetune"].isin(["all", "0"])].set_index(["architecture", "training"])[metric]
    rows = [
        {"architecture": a, "training": k, "shipped": value, "grid": float(ends.get((a, k), np.nan))}
        for (a, k), value in shipped.items()
    ]
    table = pd.DataFrame(rows, columns=["architecture", "training", "shipped", "grid"])
    return table.assign(difference=table["grid"] - table["shipped"])


def per_drug_errors(out_of_fold: pd.DataFrame, label: str, with_naive: bool = False) -> pd.DataFrame:
    """Absolute error of each screened (organoid, drug) pair on the 0-1 scaled response (columns drug, model,
    absolute error); with ``with_naive`` also the naive per-drug mean's on the same folds."""
    scored = scored_table(out_of_fold)
    error = pd.DataFrame(
        {"drug": scored["drug"], "model": label, "absolute error": (scored["y_pred"] - scored["y_true"]).abs()}
    )
    if not with_naive:
        return error
    naive = error.assign(
        model=NAIVE_LABELS["naive_drug_mean"], **{"absolute error": (scored["baseline"] - scored["y_true"]).abs()}
    )
    return pd.concat([error, naive], ignore_index=True)


def drug_medians(errors: pd.DataFrame) -> pd.DataFrame:
    """Median absolute error per (model, drug): one point per drug, the compact view of :func:`per_drug_errors`."""
    return errors.groupby(["model", "drug"], as_index=False)["absolute error"].median()


def readable_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary.csv`` of one dataset with plain model, split and size names and score headers."""
    table = summary.assign(
        model=summary["model"].map(model_label),
        split=summary["split"].map(SPLIT_LABELS).fillna(summary["split"]),
        n_finetune=summary["n_finetune"].replace({"0": "none (zero-shot)"}).fillna("-"),
    )
    columns = {"split": "predicting", "model": "model", "n_finetune": "training pairs", "n_pairs": "pairs scored"}
    columns |= {c: DETAIL_SCORE_LABELS[c] for c in DETAIL_SCORE_LABELS if c in table.columns}
    return table[[c for c in columns if c in table.columns]].rename(columns=columns)
