"""Table-1-style counts of a cohort, shared by the data report and the dashboard's home page."""

from __future__ import annotations

from core.data.cohort import Cohort

# Pair counts of Prasse et al. 2022, Table 1 (colorectal organoids: not in the paper, count of the data).
PAPER_PAIRS = {"ccle": 10_924, "beat_aml": 18_062, "lung_pdx": 120, "pancreas": 1_093, "colorectal": 1_577}

# What each dataset is, in words a reader knows (the registry's keys are for code and files).
DATASET_LABELS = {
    "colorectal": "colorectal cancer organoids (van de Wetering 2015)",
    "pancreas": "pancreatic cancer organoids (Tiriac 2018)",
    "beat_aml": "leukaemia patient samples (Beat AML)",
    "lung_pdx": "lung cancer xenografts",
    "ccle": "cancer cell lines (CCLE)",
    "gdsc1": "cancer cell lines (GDSC1)",
    "gdsc1_ln_ic50": "cancer cell lines (GDSC1, ln IC50)",
    "gdsc2": "cancer cell lines (GDSC2)",
}


def dataset_label(name: str) -> str:
    return DATASET_LABELS.get(name, name)


def summarise(cohort: Cohort) -> dict[str, object]:
    """Samples, drugs, pairs, coverage by expression and structures, and pairs a model can use."""
    responses = cohort.responses
    samples = responses["sample"].unique()
    with_expression = len(set(samples) & set(cohort.expression.index)) if cohort.has_expression else 0
    expected = PAPER_PAIRS.get(cohort.name)
    return {
        "dataset": cohort.name,
        "metric": cohort.metric,
        "samples": len(samples),
        "drugs": responses["drug"].nunique(),
        "pairs": len(responses),
        "paper pairs": "" if expected is None else f"{expected:,} {'ok' if expected == len(responses) else 'DIFFERS'}",
        "samples w/ expression": with_expression,
        "drugs w/ SMILES": sum(s is not None for s in cohort.drug_smiles.values()),
        "usable pairs": len(cohort.usable_pairs()),
    }
