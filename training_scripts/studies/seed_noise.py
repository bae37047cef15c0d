"""Seed noise of the benchmark (see ``core.benchmark.seeds``): retrain deep models with other seeds on the
same colorectal cell cold-start folds and print how far their scores move.

Example: ``python -m training_scripts.studies.seed_noise --seeds 5`` (tDNN, ConvNN and PaccMann, each fine-tuned and
from scratch on all pairs, 5 folds x 5 seeds; ``--models tdnn_finetuned tdnn_scratch`` for fewer). Writes
``seed_scores.csv`` (one row per model and seed) and ``seed_spread.csv`` (mean, SD, range per model and
score, and each architecture's fine-tuned minus scratch difference) to ``--out``. Trained folds are kept in
``--work-dir``, so an interrupted run resumes and models added later train only themselves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from core.benchmark.grid import PROFILES
from core.benchmark.seeds import SEED_MODELS, seed_predictions, seed_scores, seed_spread
from core.config import cache_dir, models_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (seed 0 is the grid's)")
    parser.add_argument("--models", nargs="+", default=list(SEED_MODELS))
    parser.add_argument("--work-dir", type=Path, default=cache_dir() / "benchmark" / "seeds")
    parser.add_argument("--out", type=Path, default=models_dir() / "benchmark")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    predictions = seed_predictions(tuple(args.models), range(args.seeds), PROFILES["full"], args.work_dir)
    scores = seed_scores(predictions)
    spread = seed_spread(scores)
    args.out.mkdir(parents=True, exist_ok=True)
    scores.to_csv(args.out / "seed_scores.csv", index=False, float_format="%.4f")
    spread.to_csv(args.out / "seed_spread.csv", index=False, float_format="%.4f")
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(scores.to_string(index=False), "\n")
        print(spread.to_string(index=False))
    print(f"\n{time.perf_counter() - start:.0f} s (this run; folds trained earlier were reused from {args.work_dir})")


if __name__ == "__main__":
    main()
