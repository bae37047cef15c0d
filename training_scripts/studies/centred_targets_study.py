"""tDNN trained on the within-drug axis (drug-centred targets) against the paper's min-max targets (issue 12).

Steps (each cached, so an interrupted run resumes):

- ``gdsc``: the benchmark's GDSC cell cold-start (5 folds over 920 lines): tDNN with drug-centred targets
  (100,000 pairs x 5 epochs, the benchmark's budget), the multi-task network (three variants, the one with the
  lowest validation loss per fold, and their mean) and a per-drug ridge, beside the committed min-max tDNN and
  per-drug random forest on the same folds;
- ``organoids``: tDNN pre-trained on GDSC with each target (20 epochs, the committed budget), then zero-shot,
  fine-tuned and from scratch on the colorectal organoids' 5 folds, for every ``--seeds``; fine-tuned and from
  scratch also with the ordering losses on drug-grouped batches (``--losses``);
- ``external``: tDNN pre-trained without GDSC's colorectal lines, applied to them as it is and after
  fine-tuning on the organoids;
- ``ordering``: the multi-task network on GDSC cell cold-start with the squared error, the ordering loss (one
  minus the per-drug Pearson over a batch's samples) and both, for every ``--seeds``;
- ``transfer``: that network trained on GDSC with each loss and alignment, then zero-shot and fine-tuned on the
  colorectal organoids' 5 folds and on GDSC's colorectal lines held out of its training, with the per-fold
  selected configuration and the mean of all, for every ``--seeds``.

Example: ``python -m training_scripts.studies.centred_targets_study --seeds 0 1 2`` (about 1 hour on 2 cores).
Writes ``deep_*.csv`` to ``--out`` (default ``trained_models/benchmark/within_drug``). Prints figures.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from core.config import cache_dir, models_dir
from core.inference.target import TARGETS
from core.study_design import CELL, PRETRAINING_COHORT
from core.training.ordering import LOSSES
from core.transfer import multitask_transfer
from core.transfer.deep_study import (
    GDSC_PROFILE,
    N_FOLDS,
    cached,
    external_test,
    gdsc_cell_cold_start,
    gdsc_multitask_and_ridge,
    gdsc_ordering_losses,
    organoid_cross_validation,
    pretrained_model,
)
from core.transfer.study import load_inputs, score_models, seed_summary

STEPS = ("gdsc", "organoids", "external", "ordering", "transfer")


def committed_gdsc_predictions() -> pd.DataFrame:
    """The committed benchmark's GDSC cell cold-start predictions of the min-max tDNN and the per-drug forest."""
    table = pd.read_parquet(
        models_dir() / "benchmark" / "predictions.parquet",
        filters=[("dataset", "==", PRETRAINING_COHORT), ("split", "==", CELL)],
    )
    table = table[table["model"].astype(str).isin(["tdnn_scratch", "rf_per_drug"])]
    return table.assign(model="committed_" + table["model"].astype(str))[
        ["model", "fold", "sample", "drug", "y_true", "y_pred"]
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--losses",
        nargs="+",
        choices=LOSSES,
        default=list(LOSSES),
        help="tDNN fine-tuning and training-from-scratch losses of the organoids step",
    )
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--work-dir", type=Path, default=cache_dir() / "within_drug")
    parser.add_argument("--out", type=Path, default=models_dir() / "benchmark" / "within_drug")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{(time.perf_counter() - start) / 60:5.1f} min] {message}", flush=True)

    if "gdsc" in args.steps:
        tables = [committed_gdsc_predictions()]
        for target in [t for t in args.targets if t != "minmax"]:  # min-max: the committed benchmark run
            for fold in range(GDSC_PROFILE.folds[(PRETRAINING_COHORT, CELL)]):
                tables.append(
                    cached(
                        args.work_dir / f"gdsc_{target}_fold{fold}.parquet", lambda: gdsc_cell_cold_start(target, fold)
                    )
                )
                log(f"GDSC cell cold-start {target} fold {fold + 1} done")
        for fold in range(GDSC_PROFILE.folds[(PRETRAINING_COHORT, CELL)]):
            tables.append(
                cached(args.work_dir / f"gdsc_multitask_fold{fold}.parquet", lambda: gdsc_multitask_and_ridge(fold))
            )
            log(f"GDSC cell cold-start multi-task networks and ridge fold {fold + 1} done")
        scores = score_models(pd.concat(tables, ignore_index=True), n_permutations=0)
        scores.to_csv(args.out / "deep_gdsc.csv", index=False, float_format="%.4g")
        print(scores.round(3).to_string(index=False), flush=True)

    if "organoids" in args.steps:
        scores = []
        for target in args.targets:
            pretrained = pretrained_model(target)
            log(f"pre-trained tDNN ({target}) ready")
            for seed in args.seeds:
                for loss in args.losses:
                    suffix = "" if loss == "mse" else f"_{loss}"
                    table = cached(
                        args.work_dir / f"organoids_{target}{suffix}_seed{seed}.parquet",
                        lambda: organoid_cross_validation(pretrained, target, seed, loss),
                    )
                    scored = score_models(table, args.permutations if seed == args.seeds[0] else 0).assign(seed=seed)
                    scores.append(scored)
                    log(f"organoids {target} {loss} seed {seed}:\n{scored.round(3).to_string(index=False)}")
        scores = pd.concat(scores, ignore_index=True)
        scores.to_csv(args.out / "deep_organoid_scores.csv", index=False, float_format="%.4g")
        summary = seed_summary(scores, args.seeds[0])
        summary.to_csv(args.out / "deep_organoid_summary.csv", index=False, float_format="%.4g")
        print(summary.round(3).to_string(index=False), flush=True)

    if "external" in args.steps:
        tables = [
            cached(args.work_dir / f"external_{target}.parquet", lambda: external_test(target))
            for target in args.targets
        ]
        scores = score_models(pd.concat(tables, ignore_index=True), args.permutations)
        scores.to_csv(args.out / "deep_external.csv", index=False, float_format="%.4g")
        print(scores.round(3).to_string(index=False), flush=True)
    if "ordering" in args.steps:
        tables = []
        for seed in args.seeds:
            for fold in range(GDSC_PROFILE.folds[(PRETRAINING_COHORT, CELL)]):
                tables.append(
                    cached(
                        args.work_dir / f"gdsc_ordering_fold{fold}_seed{seed}.parquet",
                        lambda: gdsc_ordering_losses(fold, seed),
                    ).assign(seed=seed)
                )
                log(f"GDSC cell cold-start ordering losses fold {fold + 1} seed {seed} done")
        table = pd.concat(tables, ignore_index=True)
        scores = pd.concat(
            [score_models(part, 0).assign(seed=seed) for seed, part in table.groupby("seed")], ignore_index=True
        )
        scores.to_csv(args.out / "deep_ordering_scores.csv", index=False, float_format="%.4g")
        summary = seed_summary(scores, args.seeds[0])
        summary.to_csv(args.out / "deep_ordering_summary.csv", index=False, float_format="%.4g")
        print(summary.round(3).to_string(index=False), flush=True)
    if "transfer" in args.steps:
        inputs = load_inputs()
        for test, compute in (
            ("organoids", multitask_transfer.cross_validated_predictions),
            ("external", multitask_transfer.external_predictions),
        ):
            scores = []
            for seed in args.seeds:
                table = multitask_transfer.with_ensembles(
                    cached(
                        args.work_dir / f"multitask_{test}_seed{seed}.parquet",
                        lambda: compute(inputs, seed, progress=log),
                    )
                )
                scores.append(score_models(table, args.permutations if seed == args.seeds[0] else 0).assign(seed=seed))
                log(f"multi-task transfer, {test}, seed {seed} done")
            scores = pd.concat(scores, ignore_index=True)
            scores.to_csv(args.out / f"multitask_{test}_scores.csv", index=False, float_format="%.4g")
            summary = seed_summary(scores, args.seeds[0])
            summary.to_csv(args.out / f"multitask_{test}_summary.csv", index=False, float_format="%.4g")
            print(summary.round(3).to_string(index=False), flush=True)
    log(f"done ({N_FOLDS} organoid folds)")


if __name__ == "__main__":
    main()
