"""Write ``trained_models/benchmark/summary.csv``: one row per dataset, split, model and fine-tuning size
with every metric, for what exists so far: the paper's published predictions (pancreatic organoids,
Beat AML, CCLE; both splits; the naive baselines on the same folds) and the cross-validated colorectal
bundles (cell cold-start, all pairs) with their naive baselines.

Example: ``python -m training_scripts.benchmark_summary``. The dashboard's performance page shows the file.
"""
from __future__ import annotations

import argparse

import pandas as pd

from core.artifacts import list_bundles
from core.config import models_dir
from core.evaluation.peers import SUMMARY_KEYS, peer_summary


def colorectal_rows() -> pd.DataFrame:
    """The benchmark table of every cross-validated bundle, naive rows once per cohort."""
    rows = []
    for name, manifest in list_bundles(models_dir()).items():
        if "cross_validation" not in manifest:
            continue
        for model, metrics in manifest["metrics"].items():
            rows.append({"dataset": manifest["target_cohort"], "split": "precision_oncology", "model": model,
                         "n_finetune": pd.NA if "naive" in model else "all", **metrics})
    return pd.DataFrame(rows).drop_duplicates(subset=SUMMARY_KEYS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    summary = pd.concat([colorectal_rows(), peer_summary()], ignore_index=True)
    folder = models_dir() / "benchmark"
    folder.mkdir(parents=True, exist_ok=True)
    summary.to_csv(folder / "summary.csv", index=False, float_format="%.4f")
    print(summary.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
