"""Precompute every committed bundle's within-drug evidence for the dashboard: on its reference organoids (fold-
centred score, permutation p) and on the GDSC lines of its target lineage (:mod:`core.evaluation.held_out`).

Example: ``python -m training_scripts.build.bundle_evidence`` (about 4 min on 2 idle cores for the committed
bundles, most of it predicting the 45 colorectal lines with PaccMann; prints each bundle's verdicts). Writes
``<models>/benchmark/bundle_evidence.csv``, ``held_out_evidence.csv`` and ``held_out_drugs.csv``; a bundle rebuilt
later is recognised by the hash of its reference predictions and scored afresh by the app until this is rerun.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from core.config import models_dir
from core.evaluation.evidence import N_PERMUTATIONS, evidence, evidence_file, evidence_row
from core.evaluation.held_out import drug_rows, drugs_file, summary_file, summary_row
from core.inference.bundle import load_bundle
from core.usecases.held_out_lines import LINEAGE_OF_COHORT, held_out_evidence, lines_for


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=models_dir())
    parser.add_argument("--permutations", type=int, default=N_PERMUTATIONS)
    args = parser.parse_args(argv)
    rows, held_out, held_out_drugs, lines = [], [], [], {}
    for manifest in sorted(args.models.glob("*/manifest.json")):
        bundle = load_bundle(manifest.parent)
        if bundle.reference_predictions["y_true"].isna().all():  # a panel bundle: predictions, no screen to score
            continue
        start = time.perf_counter()
        found = evidence(bundle.reference_predictions, args.permutations)
        seconds = time.perf_counter() - start
        rows.append(evidence_row(bundle.name, bundle.manifest, found))
        print(f"{bundle.name:<32s} {seconds:4.2f} s  {found.verdict()}", flush=True)
        cohort = bundle.manifest.target_cohort
        if cohort in LINEAGE_OF_COHORT:
            if cohort not in lines:
                lines[cohort] = lines_for(args.models, cohort)
            summary, per_drug = held_out_evidence(bundle, *lines[cohort])
            held_out.append(summary_row(bundle.name, bundle.manifest, summary))
            held_out_drugs.append(drug_rows(bundle.name, bundle.manifest, per_drug))
            print(f"{'':<32s} {time.perf_counter() - start:4.0f} s  {summary.sentence()}", flush=True)
    tables = {
        evidence_file(args.models): pd.DataFrame(rows),
        summary_file(args.models): pd.DataFrame(held_out),
        drugs_file(args.models): pd.concat(held_out_drugs, ignore_index=True) if held_out_drugs else pd.DataFrame(),
    }
    for out, table in tables.items():
        table.to_csv(out, index=False, float_format="%.4g")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
