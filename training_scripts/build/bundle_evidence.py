"""Precompute every committed bundle's within-drug evidence (fold-centred score, permutation p) for the dashboard.

Example: ``python -m training_scripts.build.bundle_evidence`` (about 25 s on 2 cores for the committed bundles, most
of it loading them; prints the seconds each bundle's scoring and 1,000-permutation test took). Writes
``<models>/benchmark/bundle_evidence.csv``; a bundle rebuilt later is recognised by the hash of its reference
predictions and scored afresh by the app until this is rerun.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from core.config import models_dir
from core.evaluation.evidence import N_PERMUTATIONS, evidence, evidence_file, evidence_row
from core.inference.bundle import load_bundle


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=models_dir())
    parser.add_argument("--permutations", type=int, default=N_PERMUTATIONS)
    args = parser.parse_args(argv)
    rows = []
    for manifest in sorted(args.models.glob("*/manifest.json")):
        bundle = load_bundle(manifest.parent)
        if bundle.reference_predictions["y_true"].isna().all():  # a panel bundle: predictions, no screen to score
            continue
        start = time.perf_counter()
        found = evidence(bundle.reference_predictions, args.permutations)
        seconds = time.perf_counter() - start
        rows.append(evidence_row(bundle.name, bundle.manifest, found))
        print(f"{bundle.name:<32s} {seconds:4.2f} s  {found.verdict()}", flush=True)
    out = evidence_file(args.models)
    pd.DataFrame(rows).to_csv(out, index=False, float_format="%.4g")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
