"""The figures of the benchmark's Markdown report (matplotlib PNGs, written next to it by core.benchmark.markdown).

Figures: score vs fine-tuning size for pre-trained and scratch models (the paper's Fig. 2), absolute error
per drug as box plots (its Fig. 3), and every model against the naive baselines.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from core.evaluation.grouped import PAPER_SCORE  # noqa: E402
from core.evaluation.metrics import METRICS  # noqa: E402
from core.study_design import model_key

SIZE_ORDER = ["0", "10", "50", "100", "500", "1000", "5000", "10000", "all"]
NAIVE_STYLE = {"naive_drug_mean": "--", "naive_sample_mean": ":", "naive_additive": "-."}


def _size_position(size: str) -> int:
    return SIZE_ORDER.index(size)


def size_curves(summary: pd.DataFrame, dataset: str, split: str, path: Path) -> bool:
    """Paper score and within-drug score vs training-set size, pre-trained vs scratch, naive as lines."""
    rows = summary[(summary["dataset"] == dataset) & (summary["split"] == split)]
    models = rows[rows["n_finetune"].notna() & ~rows["model"].str.contains("naive")]
    families = sorted(
        {m.rsplit("_", 1)[0] for m in models["model"] if m.endswith(("_scratch", "_finetuned", "_pretrain"))}
    )
    if not families or models["n_finetune"].nunique() < 2:  # a single size makes no curve
        return False
    metrics = [PAPER_SCORE[split], "within_drug_pearson"]
    figure, axes = plt.subplots(
        len(metrics), len(families), figsize=(4 * len(families), 6.5), squeeze=False, sharey="row"
    )
    for column, family in enumerate(families):
        for row, metric in enumerate(metrics):
            axis = axes[row][column]
            for training, colour in (
                ("scratch", "tab:grey"),
                ("finetuned", "tab:blue"),
                ("pretrain", "tab:blue"),
                ("zeroshot", "tab:orange"),
            ):
                curve = models[models["model"] == model_key(family, training)]
                if curve.empty:
                    continue
                curve = curve.assign(x=curve["n_finetune"].map(_size_position)).sort_values("x")
                axis.plot(
                    curve["x"], curve[metric], "o-" if training != "zeroshot" else "s", color=colour, label=training
                )
            for name, style in NAIVE_STYLE.items():
                value = rows.loc[rows["model"] == name, metric]
                if len(value) and pd.notna(value.iloc[0]):
                    axis.axhline(value.iloc[0], color="black", linestyle=style, linewidth=0.8, label=name)
            sizes = sorted(set(models["n_finetune"]), key=_size_position)
            axis.set_xticks([_size_position(s) for s in sizes], sizes)
            axis.set_title(f"{family}: {METRICS[metric].label}", fontsize=9)
            axis.grid(alpha=0.3)
    axes[-1][0].set_xlabel("training pairs from the target cohort (0 = zero-shot)")
    labelled = {label: handle for axis in axes.flat for handle, label in zip(*axis.get_legend_handles_labels())}
    figure.legend(labelled.values(), labelled.keys(), fontsize=7, loc="lower center", ncol=len(labelled))
    figure.subplots_adjust(bottom=0.15)
    figure.suptitle(f"{dataset}, {split.replace('_', ' ')}: score vs fine-tuning set size")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def error_boxes(predictions: pd.DataFrame, dataset: str, split: str, models: list[str], path: Path) -> bool:
    """|y_pred - y_true| per drug (largest training size of each model), drugs ordered by the first model's median."""
    rows = predictions[
        (predictions["dataset"] == dataset) & (predictions["split"] == split) & predictions["model"].isin(models)
    ]
    rows = rows[rows["n_finetune"].isna() | rows["n_finetune"].isin(["all", "0"])]
    if rows.empty:
        return False
    rows = rows.assign(error=(rows["y_pred"] - rows["y_true"]).abs())
    order = rows[rows["model"] == models[0]].groupby("drug")["error"].median().sort_values().index.tolist()
    present = [m for m in models if m in set(rows["model"])]
    figure, axes = plt.subplots(
        len(present), 1, figsize=(max(10, 0.16 * len(order)), 2.3 * len(present)), sharex=True, squeeze=False
    )
    for axis, model in zip(axes[:, 0], present):
        errors = rows[rows["model"] == model]
        axis.boxplot([errors.loc[errors["drug"] == d, "error"] for d in order], widths=0.6, showfliers=False)
        axis.set_ylabel(model, fontsize=8)
        axis.grid(alpha=0.3, axis="y")
    axes[-1][0].set_xticks(range(1, len(order) + 1), order, rotation=90, fontsize=6)
    figure.suptitle(f"{dataset}, {split.replace('_', ' ')}: absolute error per drug (scaled response)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def baseline_bars(summary: pd.DataFrame, path: Path) -> None:
    """Within-drug and paper score of each model at its largest size, per dataset and split; naive in grey."""
    largest = summary[summary["n_finetune"].isna() | summary["n_finetune"].isin(["all", "0", "10000"])]
    groups = list(largest.groupby(["dataset", "split"], sort=True))
    figure, axes = plt.subplots(len(groups), 2, figsize=(13, 2.6 * len(groups) + 0.5), squeeze=False)
    for index, ((dataset, split), rows) in enumerate(groups):
        for column, metric in enumerate((PAPER_SCORE[split], "within_drug_pearson")):
            axis = axes[index][column]
            ordered = rows.sort_values(metric)
            colours = ["tab:grey" if "naive" in m else "tab:blue" for m in ordered["model"]]
            axis.barh(ordered["model"], ordered[metric], color=colours)
            axis.set_title(f"{dataset}, {split.replace('_', ' ')}: {METRICS[metric].label}", fontsize=9)
            axis.tick_params(axis="y", labelsize=7)
            axis.axvline(0, color="black", linewidth=0.6)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
