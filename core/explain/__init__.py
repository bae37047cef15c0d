"""Why a model predicts what it does: integrated gradients per drug-organoid pair, gene rankings per drug
or organoid, and pathway over-representation of the top genes (after Prasse et al. 2022)."""

from core.explain.enrichment import (
    COLLECTIONS,
    PAPER_MAX_ADJUSTED_P,
    PAPER_MIN_OVERLAP,
    GeneSetCollection,
    load_collection,
    over_representation,
)
from core.explain.gene_ranking import TOP_GENES_TESTED, top_genes, top_genes_per_drug
from core.explain.integrated_gradients import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_STEPS,
    completeness_gap,
    endpoint_difference,
    explain_cohort,
    explain_organoid,
    explain_pair,
    integrated_gradients,
    pair_grid,
    split_model,
)

__all__ = [
    "COLLECTIONS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_STEPS",
    "GeneSetCollection",
    "PAPER_MAX_ADJUSTED_P",
    "PAPER_MIN_OVERLAP",
    "TOP_GENES_TESTED",
    "completeness_gap",
    "endpoint_difference",
    "explain_cohort",
    "explain_organoid",
    "explain_pair",
    "integrated_gradients",
    "load_collection",
    "over_representation",
    "pair_grid",
    "split_model",
    "top_genes",
    "top_genes_per_drug",
]
