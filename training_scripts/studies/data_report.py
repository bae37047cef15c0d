"""Table-1-style summary of every dataset, the gene panels and their coverage.

Run: ``python -m training_scripts.studies.data_report``. The Prasse et al. 2022 Table 1 pair counts are printed
beside ours, with a check mark where they agree.
"""

from __future__ import annotations

import argparse

import pandas as pd

from core.data.cohort import Cohort
from core.data.panels import PANEL_NAMES, build_panel, listed_genes
from core.data.registry import DATASETS, load_cohort
from core.data.summary import summarise
from core.study_design import PRETRAINING_COHORT, TARGET_COHORT

PAPER_GDSC = "paper: GDSC1 ln IC50, 958 cell lines x 282 drugs = 250,625 pairs"


def panel_coverage(cohorts: dict[str, Cohort]) -> pd.DataFrame:
    """Share of each panel's listed genes that each dataset with expression measured."""
    rows = []
    for panel in PANEL_NAMES:
        listed, _ = listed_genes(panel)
        for name, cohort in cohorts.items():
            measured = set(cohort.expression.columns) if cohort.has_expression else set()
            rows.append(
                {
                    "panel": panel,
                    "dataset": name,
                    "listed genes": len(listed),
                    "measured": len(measured & set(listed)) if measured else "no expression",
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), help="dataset names (default: all)")
    args = parser.parse_args(argv)
    cohorts = {name: load_cohort(name) for name in args.datasets}

    pd.set_option("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 120)
    print("== Datasets (pairs = response rows; usable = sample has expression and drug has a structure)")
    print(pd.DataFrame([summarise(c) for c in cohorts.values()]).to_string(index=False))
    print(f"\nGDSC for pre-training: {PRETRAINING_COHORT} ({PAPER_GDSC}).")

    print("\n== Expression and drugs without structure")
    for cohort in cohorts.values():
        expression = (
            f"{cohort.expression.shape[0]} x {cohort.expression.shape[1]} genes"
            if cohort.has_expression
            else f"none: {cohort.expression_note}"
        )
        print(f"- {cohort.name}: expression {expression}")
        if cohort.unmatched_drugs:
            print(f"  no usable SMILES ({len(cohort.unmatched_drugs)}): {', '.join(cohort.unmatched_drugs)}")

    print("\n== Panel coverage per dataset")
    print(panel_coverage(cohorts).to_string(index=False))
    if PRETRAINING_COHORT in cohorts and TARGET_COHORT in cohorts:
        domains = {n: cohorts[n].expression.columns for n in (PRETRAINING_COHORT, TARGET_COHORT)}
        print(f"\n== Final panels ({PRETRAINING_COHORT} x {TARGET_COHORT})")
        for panel in PANEL_NAMES:
            report = build_panel(panel, domains)
            print(
                f"- {panel}: {len(report.genes)} genes of {report.listed} listed; missing in "
                + ", ".join(f"{d}: {len(m)}" for d, m in report.missing_by_domain.items())
                + f"; renamed to current HGNC: {len(report.mapping.renamed)}"
                + f"; ambiguous: {report.mapping.ambiguous or 'none'}; unknown: {report.mapping.unknown or 'none'}"
            )


if __name__ == "__main__":
    main()
