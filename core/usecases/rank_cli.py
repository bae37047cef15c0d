"""``pdo-rank PATH [--bundle NAME]... [--out FILE] [--same-lab | --separate]`` (also ``python -m core.usecases.rank_cli``).

Ranks the drugs for every organoid of an expression file exactly as the app does: the upload page's checks and
messages, the same alignment rule (:func:`core.labshift.prepare.prepare_profiles`: a file of at least the minimum
cohort size counts as one lab's cohort unless ``--separate``), the same bundles by default (those the ranking page
opens on), and one CSV row per sample x bundle x drug with the out-of-range verdict of each sample. This is what a
lab runs over many organoids in its own pipeline.

Exit status 0: ranked (out-of-range samples are ranked too, and said so on stderr and in their rows); 2: refused,
with the reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from core.config import models_dir
from core.inference.manifest import Manifest
from core.labshift.prepare import PreparedProfiles, prepare_profiles
from core.labshift.reference import ReferenceProfileError, load_reference_profile
from core.upload.errors import UploadError
from core.upload.validate import ValidatedProfile, validate_upload

EXIT_REFUSED = 2
VERDICT_COLUMNS = ("alignment", "in_range", "range_problem", "shift_score", "tissue_score")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    same_lab = True if args.same_lab else False if args.separate else None
    try:
        ranking = rank_file(args.path, args.bundle, same_lab)
    except (UploadError, ReferenceProfileError, BundleRefused) as error:
        print(f"Not ranked: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as error:
        print(f"Not ranked: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return EXIT_REFUSED
    from core.data.export import to_safe_csv

    if args.out is None:
        to_safe_csv(ranking, sys.stdout, index=False, float_format="%.5g")
    else:
        to_safe_csv(ranking, args.out, index=False, float_format="%.5g")
        print(f"wrote {len(ranking):,} rows to {args.out}", file=sys.stderr)
    return 0


class BundleRefused(Exception):
    """A named bundle is not there or cannot be used."""


def rank_file(path: Path, bundle_names: list[str] | None, same_lab: bool | None) -> pd.DataFrame:
    """The rows ``pdo-rank`` writes for the file at ``path``; progress and verdicts go to stderr."""
    from core.study_design import TARGET_COHORT
    from core.usecases.bundle_grid import app_bundles

    folder = models_dir()
    offered = app_bundles(folder, TARGET_COHORT)
    names = bundle_names or opening_bundles(folder, offered)
    unknown = [name for name in names if not (folder / name / "manifest.json").is_file()]
    if unknown:
        raise BundleRefused(f"no bundle named {', '.join(unknown)} in {folder}; available: {', '.join(offered)}")
    bundles = [_load(folder / name) for name in names]
    panel = list(dict.fromkeys(gene for bundle in bundles for gene in bundle.genes))
    validated = validate_upload(path.read_bytes(), path.name, panel)
    cohorts = {bundle.manifest.target_cohort for bundle in bundles}
    if len(cohorts) > 1:
        raise BundleRefused(f"the bundles rank against different reference cohorts ({', '.join(sorted(cohorts))})")
    prepared = prepare_profiles(validated.expression, load_reference_profile(folder, cohorts.pop()), same_lab)
    _report(validated, prepared)
    return ranked_rows(bundles, prepared, folder)


def ranked_rows(bundles: list, prepared: PreparedProfiles, folder: Path) -> pd.DataFrame:
    """One row per sample x bundle x drug: the app's ranking columns plus the alignment and each sample's verdict
    (each drug's reliability with the bundle's held-out evidence stored in ``folder``, as the app weighs it)."""
    from core.evaluation.held_out import independent_drug_evidence
    from core.usecases.ranking import cohort_rankings, drug_reliability

    verdicts = pd.DataFrame(
        [
            {
                "sample": sample,
                "alignment": prepared.alignment,
                "in_range": verdict.in_range,
                "range_problem": verdict.problem or "",
                "shift_score": verdict.shift_score,
                "tissue_score": verdict.tissue_score,
            }
            for sample, verdict in prepared.verdicts.items()
        ]
    )
    tables = [
        cohort_rankings(
            bundle,
            prepared.expression,
            drug_reliability(bundle, independent_drug_evidence(folder, bundle.name, bundle.manifest)),
        ).assign(bundle=bundle.name)
        for bundle in bundles
    ]
    rows = pd.concat(tables, ignore_index=True).astype({"sample": str}).merge(verdicts, on="sample", how="left")
    first = ["sample", "bundle", "drug", "predicted", "z_score", "p_more_sensitive", "coin", "rank"]
    return rows[first + [c for c in rows.columns if c not in first]]


def opening_bundles(folder: Path, offered: dict[str, Manifest]) -> list[str]:
    """The bundles the ranking page opens on, for every architecture (see :func:`core.usecases.ranking.shown_trainings`);
    ``offered``: the verified manifests of the app's bundles in ``folder`` (:func:`core.usecases.bundle_grid.app_bundles`)."""
    from core.evaluation.evidence import evidence_file, stored_evidence
    from core.evaluation.held_out import held_out_of
    from core.usecases.bundle_grid import bundle_grid
    from core.usecases.ranking import shown_trainings

    path = evidence_file(folder)
    table = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["bundle", "reference_sha256"])
    names = []
    for trainings in bundle_grid(offered).values():
        found = {t: stored_evidence(table, name, offered[name]) for t, name in trainings.items()}
        held_out = {t: held_out_of(folder, name, offered[name]) for t, name in trainings.items()}
        names += [trainings[t] for t in shown_trainings(found, held_out)]
    return names


def _load(folder: Path):
    from core.inference.bundle import BundleError, load_bundle

    try:
        return load_bundle(folder)
    except BundleError as error:
        raise BundleRefused(str(error)) from error


def _report(validated: ValidatedProfile, prepared: PreparedProfiles) -> None:
    print(validated.check.to_text(), file=sys.stderr)
    print(f"Alignment: {prepared.explanation}", file=sys.stderr)
    for sample in prepared.out_of_range():
        print(f"OUT OF RANGE {sample}: {prepared.verdicts[sample].message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pdo-rank",
        description="Rank drugs for every organoid of an expression file exactly as the dashboard does. "
        "Exit status 0: ranked; 2: refused (reason on stderr).",
    )
    parser.add_argument("path", type=Path, help="expression file (CSV, TSV, TXT, XLSX, optionally gzipped)")
    parser.add_argument(
        "--bundle", action="append", help="bundle name (repeatable; default: the bundles the app's ranking opens on)"
    )
    parser.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    lab = parser.add_mutually_exclusive_group()
    lab.add_argument("--same-lab", action="store_true", help="the profiles come from one lab and batch: align them")
    lab.add_argument("--separate", action="store_true", help="rank each profile on its own, never aligned")
    return parser


if __name__ == "__main__":
    sys.exit(main())
