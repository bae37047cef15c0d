"""Issue 12's study of the within-drug ordering: per-drug ridge models on drug-centred GDSC targets, four
alignments x three GDSC training sets, zero-shot and fine-tuned on the colorectal organoids, the organoid-only
ridge, a per-fold selected configuration, and the external test on GDSC's colorectal lines.

Examples::

    python -m training_scripts.studies.within_drug_study                       # 3 fold seeds, 1,000 permutations
    python -m training_scripts.studies.within_drug_study --seeds 0 --permutations 200

Writes ``scores.csv`` (per model and seed), ``summary.csv`` (mean +- SD over seeds, permutation p of seed 0),
``external.csv``, ``per_drug.csv`` and ``predictions.parquet`` to ``--out`` (default
``trained_models/benchmark/within_drug``). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from core.config import models_dir
from core.evaluation.evidence import N_PERMUTATIONS
from core.evaluation.metrics import within_drug_fold_per_drug
from core.transfer.study import (
    configurations,
    cross_validated_predictions,
    external_predictions,
    load_inputs,
    score_models,
    seed_summary,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fold partition seeds (0 = bundles')")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--permutations", type=int, default=N_PERMUTATIONS)
    parser.add_argument("--out", type=Path, default=models_dir() / "benchmark" / "within_drug")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    inputs = load_inputs()
    print(
        f"inputs: {inputs.gdsc.shape[0]} GDSC lines, {inputs.organoids.shape[0]} organoids, "
        f"{inputs.organoid_pairs['drug'].nunique()} shared drugs, {len(inputs.organoid_pairs)} organoid pairs",
        flush=True,
    )

    predictions, scores = [], []
    for seed in args.seeds:
        table = cross_validated_predictions(inputs, args.folds, seed, progress=lambda line: print(line, flush=True))
        predictions.append(table.assign(seed=seed))
        scored = score_models(table, args.permutations if seed == args.seeds[0] else 0).assign(seed=seed)
        scores.append(scored)
        print(scored.round(3).to_string(index=False), flush=True)
    predictions, scores = pd.concat(predictions, ignore_index=True), pd.concat(scores, ignore_index=True)
    summary = seed_summary(scores, args.seeds[0])

    external = []
    for alignment, training_set in configurations():
        table = external_predictions(inputs, alignment, training_set)
        external.append(score_models(table, args.permutations))
        predictions = pd.concat([predictions, table.assign(seed=-1)], ignore_index=True)
        print(external[-1].round(3).to_string(index=False, header=len(external) == 1), flush=True)
    external = pd.concat(external, ignore_index=True).sort_values("within_drug_fold_pearson", ascending=False)

    per_drug = pd.concat(
        [
            within_drug_fold_per_drug(rows).assign(model=model)
            for model, rows in predictions[predictions["seed"] == args.seeds[0]].groupby("model")
        ]
    )
    summary.to_csv(args.out / "summary.csv", index=False, float_format="%.4g")
    scores.to_csv(args.out / "scores.csv", index=False, float_format="%.4g")
    external.to_csv(args.out / "external.csv", index=False, float_format="%.4g")
    per_drug.to_csv(args.out / "per_drug.csv", index=False, float_format="%.4g")
    stored = predictions.drop(columns=[c for c in ("baseline",) if c in predictions])
    stored.to_parquet(args.out / "predictions.parquet", index=False, compression="zstd")
    print("\ncolorectal organoids, cell cold-start, fold-centred within-drug Pearson (mean +- SD over fold seeds):")
    print(summary.round(3).to_string(index=False))
    print("\nexternal: GDSC colorectal lines held out of everything:")
    print(external.round(3).to_string(index=False))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
