"""Benchmark of the model side: GDSC pre-training time per architecture (read from the pre-trained
models' manifests, i.e. the real runs), bundle load time, and prediction time for one organoid and
for the whole reference cohort over every drug.

Example: ``python -m training_scripts.timing.time_models``. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from core.config import models_dir
from core.data.registry import load_cohort
from core.inference.bundle import list_bundles, load_bundle, unverified_manifest
from core.study_design import TARGET_COHORT
from core.usecases.predict import rank_drugs
from training_scripts.settings import MODELS, pretrained_dir


def pretraining_rows() -> list[dict[str, object]]:
    rows = []
    for architecture in MODELS:
        folder = pretrained_dir(architecture)
        if not (folder / "manifest.json").is_file():
            continue
        manifest = unverified_manifest(folder)
        fit, settings = manifest.fit or {}, manifest.settings or {}
        rows.append(
            {
                "model": architecture,
                "pairs": settings.get("max_pairs") or "all",
                "epochs": fit["epochs_run"],
                "s/epoch": round(fit["seconds"] / fit["epochs_run"], 1),
                "fit min": round(fit["seconds"] / 60, 1),
                "total min (incl. features)": round(settings["total_seconds"] / 60, 1),
                "best val MSE": round(fit["best_val_loss"], 5),
            }
        )
    return rows


def timed(function, repeats: int) -> float:
    """Best of ``repeats`` wall-clock seconds (the first call also pays graph tracing)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    print("== GDSC1 pre-training on this machine (from the pre-trained models' manifests)")
    print(pd.DataFrame(pretraining_rows()).to_string(index=False) or "no pre-trained model cached")

    expression = load_cohort(TARGET_COHORT).expression
    rows = []
    for name in list_bundles(models_dir()):
        start = time.perf_counter()
        bundle = load_bundle(models_dir() / name)
        load_s = time.perf_counter() - start
        first_call = timed(lambda: rank_drugs(bundle, expression.iloc[[0]]), 1)
        rows.append(
            {
                "bundle": name,
                "members": len(bundle.members),
                "drugs": len(bundle.drugs),
                "load s": round(load_s, 2),
                "first prediction s": round(first_call, 3),
                "1 organoid s": round(timed(lambda: rank_drugs(bundle, expression.iloc[[0]]), args.repeats), 3),
                f"{len(expression)} organoids s": round(timed(lambda: rank_drugs(bundle, expression), args.repeats), 3),
            }
        )
    print(f"\n== Bundles in {models_dir()} (load verifies every file's SHA-256; predictions over all drugs)")
    print(pd.DataFrame(rows).to_string(index=False) if rows else "no bundles")


if __name__ == "__main__":
    main()
