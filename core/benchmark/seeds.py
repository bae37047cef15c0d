"""Seed noise: how far a deep model's benchmark scores move when only the training seed changes.

The grid trains every deep model once (seed 0), so a difference between two models could be the seed's
doing. Here chosen models are retrained on the same colorectal cell cold-start folds with other seeds (the
initial weights, the fine-tuned model's new output layer, the validation split and the batch order; on a
CPU TensorFlow adds its own run-to-run noise on top), scored like the grid against the naive baselines of
the same folds. The spread over seeds is the yardstick for every difference the report shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core.benchmark.collect import min_max_scaled, naive_predictions
from core.benchmark.grid import ARCHITECTURES, Profile, Task
from core.benchmark.tasks import run_task
from core.evaluation.grouped import summarise
from core.study_design import CELL, TARGET_COHORT, model_key

SEED_MODELS = tuple(
    model_key(architecture, training) for architecture in ARCHITECTURES for training in ("finetuned", "scratch")
)
SCORES = ("paper_precision_oncology", "within_drug_pearson")


def seed_predictions(
    models: tuple[str, ...], seeds: range, profile: Profile, work_dir: Path, progress: Callable[[str], None] = print
) -> pd.DataFrame:
    """Held-out predictions of ``models`` (all training pairs) for every seed and fold, scaled like the grid's;
    each (model, seed, fold) is saved under ``work_dir`` so a rerun only trains what is missing."""
    n_folds = profile.folds[(TARGET_COHORT, CELL)]
    parts = []
    for seed in seeds:
        for model in models:
            for fold in range(n_folds):
                path = work_dir / f"{model}__seed{seed}__f{fold}.parquet"
                if not path.is_file():
                    work_dir.mkdir(parents=True, exist_ok=True)
                    run_task(Task(TARGET_COHORT, CELL, model, "all", fold), profile, work_dir, seed).to_parquet(path)
                    progress(f"{model} seed {seed} fold {fold + 1}/{n_folds} done")
                parts.append(pd.read_parquet(path).assign(model=model, seed=seed))
    table = pd.concat(parts, ignore_index=True).assign(dataset=TARGET_COHORT, split=CELL)
    return min_max_scaled(table)


def seed_scores(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per model and seed: the grid's metrics (``summarise``, naive baselines on the same folds)."""
    naive = min_max_scaled(naive_predictions(TARGET_COHORT, CELL, int(predictions["fold"].max()) + 1))
    rows = []
    for seed, runs in predictions.groupby("seed"):
        table = pd.concat([runs.drop(columns="seed").assign(n_finetune="all"), naive], ignore_index=True)
        scored = summarise(table)
        rows.append(scored[~scored["model"].str.contains("naive")].assign(seed=seed))
    return pd.concat(rows, ignore_index=True)[["model", "seed", *SCORES]]


def seed_spread(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model and score: mean, SD, minimum and maximum over seeds; for every architecture with both a
    fine-tuned and a from-scratch model, also ``<architecture>_finetuned - <architecture>_scratch`` seed by seed."""
    long = scores.melt(id_vars=["model", "seed"], value_vars=list(SCORES), var_name="score")
    wide = long.pivot_table(index=["seed", "score"], columns="model", values="value").reset_index()
    differences = [
        wide.assign(model=f"{pretrained} - {scratch}", value=wide[pretrained] - wide[scratch])
        for pretrained in wide.columns
        if str(pretrained).endswith("_finetuned")
        for scratch in [str(pretrained).removesuffix("_finetuned") + "_scratch"]
        if scratch in wide.columns
    ]
    long = pd.concat([long, *(d[["model", "seed", "score", "value"]] for d in differences)], ignore_index=True)
    spread = long.groupby(["model", "score"], sort=False)["value"].agg(["mean", "std", "min", "max", "count"])
    return spread.rename(columns={"std": "sd", "count": "n_seeds"}).reset_index()
