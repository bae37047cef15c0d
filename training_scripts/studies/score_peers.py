"""Score the published Prasse et al. 2022 cross-validation predictions with the project's metrics.

Run: ``python -m training_scripts.studies.score_peers``. One row per dataset, split, model and fine-tuning size,
with the naive baselines (``naive_*``) refitted on the same folds; all values are on the paper's min-max
scaled target. The normalised within-drug score uses naive_drug_mean as reference in precision oncology
and naive_sample_mean in drug development (see core/evaluation/peers.py).
"""

from __future__ import annotations

import argparse

import pandas as pd

from core.evaluation.peers import PEER_DATASETS, peer_summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--datasets",
        nargs="*",
        default=list(PEER_DATASETS),
        choices=PEER_DATASETS,
        help="datasets to score (default: all three)",
    )
    parser.add_argument(
        "--all-sizes", action="store_true", help="every fine-tuning-set size, not only each model's largest"
    )
    args = parser.parse_args(argv)
    summary = peer_summary(tuple(args.datasets), largest_only=not args.all_sizes)
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 1000):
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
