"""Build the reference cohort's statistics that uploads are aligned onto and checked against.

Example: ``python -m training_scripts.build.build_reference_profile`` (a few seconds). Reads the target cohort's log2
profiles (all of them, screened or not: they come from the reference lab), writes
``trained_models/reference_profiles/<cohort>.json`` (per-gene mean and SD, tissue markers, the check's limits,
data hashes, package versions) and prints the leave-one-out figures the limits rest on.

The limits are set from the reference organoids alone, before any other source is looked at:
- lab/platform shift: :data:`SHIFT_LIMIT`, twice the spread the reference organoids show among themselves;
- tissue: :data:`TISSUE_MARGIN` below the lowest leave-one-out tissue score of a reference organoid.
How they do on other sources is measured by ``training_scripts.studies.labshift_study``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import models_dir
from core.data.registry import load_cohort
from core.labshift.range_check import SHIFT, TISSUE, shift_score, tissue_score
from core.labshift.reference import ReferenceProfile, save_reference_profile
from core.study_design import TARGET_COHORT
from core.training.bundles import package_versions

SHIFT_LIMIT = 2.0
TISSUE_MARGIN = 0.05
# Intestinal-epithelium genes that colorectal tumours and organoids keep (generic epithelial genes left out, so a
# carcinoma of another organ does not pass on them).
TISSUE_MARKERS = {
    "colorectal": [
        "CDX1", "CDX2", "VIL1", "CDH17", "LGALS4", "KRT20", "GPA33", "MUC13",
        "HNF4A", "CEACAM5", "TFF3", "PHGR1", "FABP1", "SATB2",
    ],
}  # fmt: skip


def leave_one_out_scores(expression: pd.DataFrame, cohort: str) -> pd.DataFrame:
    """Each reference organoid scored against the statistics of all the others."""
    rows = []
    for sample in expression.index:
        others = ReferenceProfile.from_expression(cohort, expression.drop(index=sample), TISSUE_MARKERS[cohort])
        profile = expression.loc[sample]
        rows.append({"sample": sample, SHIFT: shift_score(profile, others), TISSUE: tissue_score(profile, others)})
    return pd.DataFrame(rows).set_index("sample")


def build(cohort_name: str) -> tuple[ReferenceProfile, pd.DataFrame]:
    cohort = load_cohort(cohort_name)
    expression = cohort.expression.dropna(axis=0, how="all")
    loo = leave_one_out_scores(expression, cohort_name)
    limits = {SHIFT: SHIFT_LIMIT, TISSUE: round(float(loo[TISSUE].min()) - TISSUE_MARGIN, 3)}
    provenance = {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "built_by": "training_scripts.build.build_reference_profile",
        "data_files": cohort.data_files,
        "samples": [str(s) for s in expression.index],
        "versions": package_versions(),
        "limit_rule": f"shift: {SHIFT_LIMIT} fixed; tissue: lowest leave-one-out score minus {TISSUE_MARGIN}",
        "leave_one_out": {
            column: {stat: round(float(getattr(loo[column], stat)()), 4) for stat in ("min", "median", "max")}
            for column in (SHIFT, TISSUE)
        },
    }
    profile = ReferenceProfile.from_expression(cohort_name, expression, TISSUE_MARKERS[cohort_name])
    return profile.with_limits(limits, provenance), loo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cohort", default=TARGET_COHORT, choices=sorted(TISSUE_MARKERS))
    parser.add_argument("--models", type=Path, default=models_dir())
    args = parser.parse_args(argv)
    profile, loo = build(args.cohort)
    path = save_reference_profile(profile, args.models)
    passed = (loo[SHIFT] <= profile.limits[SHIFT]) & (loo[TISSUE] >= profile.limits[TISSUE])
    print(loo.round(3).to_string())
    print(
        f"{len(profile.genes):,} genes, {profile.n_samples} organoids, markers {', '.join(profile.tissue_markers)}\n"
        f"limits: {profile.limits}; leave-one-out pass {int(passed.sum())} of {len(loo)} "
        f"({np.mean(passed):.0%})\nwrote {path}"
    )


if __name__ == "__main__":
    main()
