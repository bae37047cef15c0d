"""Benchmark drug featurisation (RDKit + Mordred 2D descriptors) on every drug structure we hold.

Reads the SMILES of the GDSC drug table and of every patient cohort's ``drug_smiles.csv``,
featurises them twice -- cold, into a fresh temporary cache, then warm from that cache -- and
reports counts, timings split by RDKit / Mordred, and how many descriptor columns survive the
standardiser's constant/missing filter. Run: ``python -m training_scripts.timing.time_drug_features``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import asdict

import pandas as pd

from core.config import CACHE_DIR_ENV, data_root
from core.data.structures import canonical_smiles
from core.preprocessing.drug_features import (
    DescriptorStandardiser,
    FeaturisationTimings,
    compute_descriptors,
    descriptor_columns,
    descriptor_versions,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Time RDKit + Mordred descriptor computation (cold and warm cache) on all drug SMILES "
        "of the GDSC table and the patient cohorts, and count descriptor columns kept by the standardiser.",
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="Mordred worker processes (default 1)")
    parser.add_argument("--limit", type=int, default=None, help="featurise only the first N unique drugs (quick check)")
    parser.add_argument(
        "--max-missing-fraction",
        type=float,
        default=0.0,
        help="standardiser tolerance for missing values per column (default 0: any missing drops it)",
    )
    return parser.parse_args(argv)


def drug_smiles_sources() -> dict[str, list[str]]:
    """Source table -> SMILES as stored (drugs without a structure skipped)."""
    root = data_root()
    sources = {"gdsc": pd.read_csv(root / "invitro" / "gdsc_deepdr2023" / "drugs.csv")["smiles"].dropna().tolist()}
    for path in sorted((root / "patient").glob("*/drug_smiles.csv")):
        sources[path.parent.name] = pd.read_csv(path)["canonical_smiles"].dropna().tolist()
    return sources


def timed_run(smiles: list[str], n_jobs: int) -> tuple[pd.DataFrame, float, FeaturisationTimings]:
    """Descriptor table, wall time and its breakdown for one pass."""
    timings = FeaturisationTimings()
    start = time.perf_counter()
    table = compute_descriptors(smiles, n_jobs=n_jobs, timings=timings)
    return table, time.perf_counter() - start, timings


def kept_columns(table: pd.DataFrame, max_missing_fraction: float) -> int:
    """Number of columns the standardiser keeps when fitted on ``table``."""
    return len(DescriptorStandardiser(max_missing_fraction).fit(table).columns)


def report_timings(label: str, wall: float, timings: FeaturisationTimings) -> None:
    """One block of timing lines."""
    print(f"{label}: {wall:.2f} s wall ({timings.n_computed} computed, {timings.n_cached} from cache)")
    for name, value in asdict(timings).items():
        if name.endswith("_s"):
            share = 100 * value / wall if wall else 0.0
            print(f"  {name[:-2]:<12} {value:8.2f} s  {share:5.1f} %")
    if timings.n_computed:
        print(
            f"  per computed molecule: RDKit {1000 * timings.rdkit_s / timings.n_computed:.1f} ms, "
            f"Mordred {1000 * timings.mordred_s / timings.n_computed:.1f} ms"
        )


def report_columns(table: pd.DataFrame, gdsc: list[str], max_missing_fraction: float) -> None:
    """Columns before/after the constant/missing filter, for all drugs and for the GDSC drugs."""
    platinum = [s for s in table.index if "Pt" in s]
    all_nan, any_nan = int(table.isna().all().sum()), int(table.isna().any().sum())
    print(f"descriptor columns before filtering: {table.shape[1]} (all-NaN in every drug: {all_nan})")
    print(f"  columns with any NaN: {any_nan}; constant among non-missing values: {int((table.nunique() <= 1).sum())}")
    print(f"  kept, fitted on all {len(table)} drugs: {kept_columns(table, max_missing_fraction)}")
    gdsc_set = set(gdsc)
    gdsc_table = table.loc[[s for s in table.index if s in gdsc_set]]
    print(f"  kept, fitted on the {len(gdsc_table)} GDSC drugs: {kept_columns(gdsc_table, max_missing_fraction)}")
    without_pt = gdsc_table.drop(index=[s for s in platinum if s in gdsc_table.index])
    kept_without_pt = kept_columns(without_pt, max_missing_fraction)
    print(f"  kept, GDSC drugs without platinum complexes ({len(without_pt)}): {kept_without_pt}")
    print(f"  platinum complexes: {platinum}")


def main(argv: list[str] | None = None) -> None:
    """Featurise cold, then warm, and print the figures."""
    args = parse_args(argv)
    sources = drug_smiles_sources()
    every = [s for smiles in sources.values() for s in smiles]
    canonical = {s: canonical_smiles(s) for s in set(every)}
    unparsable = sorted(s for s, c in canonical.items() if c is None)
    unique = list(dict.fromkeys(canonical[s] for s in every if canonical[s] is not None))[: args.limit]
    gdsc = [canonical[s] for s in sources["gdsc"] if canonical[s] is not None]

    print(f"versions: {descriptor_versions()}, n_jobs={args.n_jobs}, cpus={os.cpu_count()}")
    for name, smiles in sources.items():
        print(f"  {name:<45} {len(smiles):4d} SMILES")
    print(f"SMILES rows: {len(every)}; distinct strings: {len(canonical)}; unparsable: {len(unparsable)} {unparsable}")
    print(f"unique drugs after canonicalisation (salts stripped): {len(unique)}")

    with tempfile.TemporaryDirectory(prefix="pdo_bench_cache_") as folder:
        os.environ[CACHE_DIR_ENV] = folder
        start = time.perf_counter()
        descriptor_columns()
        print(f"setup (Mordred calculator): {time.perf_counter() - start:.2f} s")
        table, cold_wall, cold = timed_run(unique, args.n_jobs)
        report_timings("cold", cold_wall, cold)
        warm_table, warm_wall, warm = timed_run(unique, args.n_jobs)
        report_timings("warm", warm_wall, warm)
    if not warm_table.equals(table):
        raise SystemExit("warm cache returned different values")
    print(f"speed-up warm vs cold: {cold_wall / warm_wall:.0f}x")
    report_columns(table, gdsc, args.max_missing_fraction)


if __name__ == "__main__":
    main()
