"""Pathway enrichment of a drug's attributed genes: over-representation analysis (ORA) of the top genes, as in
Prasse et al. 2022, and ranked enrichment (GSEA preranked) of the whole attribution vector.

The paper tested each drug's top 200 genes with Fisher's exact test against ConsensusPathDB, corrected
with Benjamini-Hochberg, and kept pathways with adjusted p < 0.001 and at least 10 overlapping genes.
Here the test is ``gseapy.enrich`` (one-sided Fisher = hypergeometric upper tail) run fully offline on
the local GMT files in ``<data_root>/genesets`` (read ``PROVENANCE.md`` there).

Choices:

- **The background is the model's gene panel.** Only panel genes could ever be ranked, so a pathway
  gene outside the panel can never be "drawn"; counting it would inflate set sizes and distort every
  p-value. Sets are cut to the panel before testing (gseapy does the same with a list background; doing
  it first also lets the small-set filter below see the real sizes).
- **Sets with fewer than ``min_overlap`` panel genes are not tested.** They can never pass the overlap
  filter, and leaving them out of the Benjamini-Hochberg family is the usual minimum-size filter
  (clusterProfiler's ``minGSSize``), chosen without looking at the query.
- **Benjamini-Hochberg over every tested set.** gseapy corrects only over sets with at least one hit;
  here a set without a hit enters the correction with p = 1, which is the family actually tested.
- **Ranked enrichment for small panels.** With a 655-gene panel the top 200 genes are 30 % of the
  background, so ORA can hardly reach significance. ``gseapy.prerank`` uses every gene's score instead of a
  cut-off (Subramanian et al. 2005): sets of ``PRERANK_MIN_SIZE`` to ``PRERANK_MAX_SIZE`` panel genes,
  ``PRERANK_PERMUTATIONS`` gene-set permutations, seeded; GSEA's conventional bar is FDR q < 0.25.
- **Never the network.** Gene sets go to gseapy as a dict and the background as a list: a library name
  or a non-file background string would make gseapy query Enrichr or BioMart.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import gseapy
import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from core.config import data_root

PAPER_MAX_ADJUSTED_P = 0.001
PAPER_MIN_OVERLAP = 10
COLUMNS = ["term", "overlap", "set_size", "p_value", "adjusted_p", "odds_ratio", "genes"]
PRERANK_MIN_SIZE, PRERANK_MAX_SIZE = 10, 500
PRERANK_PERMUTATIONS = 1000
GSEA_MAX_FDR = 0.25  # Subramanian et al. 2005's suggested bar for exploratory GSEA
RANKED_COLUMNS = ["term", "set_size", "nes", "p_value", "fdr", "leading_genes"]

_ACADEMIC_ONLY = "academic, non-commercial use only; do not ship in a public or commercial dashboard"


@dataclass(frozen=True)
class GeneSetCollection:
    """One pathway collection: its GMT file and the terms it may be used under."""

    name: str
    file_name: str
    licence: str

    @property
    def path(self) -> Path:
        return data_root() / "genesets" / self.file_name


COLLECTIONS: dict[str, GeneSetCollection] = {
    collection.name: collection
    for collection in (
        GeneSetCollection("Reactome", "ReactomePathways_2024-09-18.gmt", "CC BY 4.0; cite Reactome and the release"),
        GeneSetCollection("WikiPathways", "WikiPathway_2023_Human.gmt", "CC0"),
        GeneSetCollection(
            "Hallmark", "h.all.v2023.2.Hs.symbols.gmt", "MSigDB Hallmark, CC BY 4.0; cite Liberzon et al. 2015"
        ),
        GeneSetCollection(
            "ConsensusPathDB",
            "CPDB_pathways_genes_human_symbol.gmt",
            "ConsensusPathDB: " + _ACADEMIC_ONLY + "; its KEGG, BioCarta and HumanCyc sets keep their "
            "source's restrictive terms (the paper's collection)",
        ),
        GeneSetCollection("KEGG", "KEGG_2021_Human.gmt", "KEGG (c) Kanehisa Laboratories: " + _ACADEMIC_ONLY),
    )
}


def _collection(name: str) -> GeneSetCollection:
    try:
        return COLLECTIONS[name]
    except KeyError:
        raise ValueError(f"Unknown gene-set collection {name!r}; choose one of {sorted(COLLECTIONS)}") from None


def read_gmt(path: Path) -> dict[str, frozenset[str]]:
    """Term -> genes of a GMT file (``name<TAB>description<TAB>gene...``); blank gene fields skipped."""
    gene_sets: dict[str, frozenset[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        if fields[0] in gene_sets:
            raise ValueError(f"{path.name}: term {fields[0]!r} appears twice")
        gene_sets[fields[0]] = frozenset(gene.strip() for gene in fields[2:] if gene.strip())
    return gene_sets


@lru_cache(maxsize=len(COLLECTIONS))
def load_collection(name: str) -> Mapping[str, frozenset[str]]:
    """Term -> genes of a collection, read from disk once per process (read-only view)."""
    return MappingProxyType(read_gmt(_collection(name).path))


@lru_cache(maxsize=32)
def _sets_in_background(name: str, background: frozenset[str], min_size: int) -> Mapping[str, list[str]]:
    """Sets of a collection cut to ``background``, keeping those with at least ``min_size`` genes."""
    restricted = {term: sorted(genes & background) for term, genes in load_collection(name).items()}
    return MappingProxyType({term: genes for term, genes in restricted.items() if len(genes) >= max(min_size, 1)})


def over_representation(
    genes: Sequence[str],
    background: Sequence[str],
    collection: str,
    max_adjusted_p: float = PAPER_MAX_ADJUSTED_P,
    min_overlap: int = PAPER_MIN_OVERLAP,
) -> pd.DataFrame:
    """Pathways of ``collection`` over-represented in ``genes`` against ``background`` (the gene panel).

    Returns the terms with ``adjusted_p < max_adjusted_p`` and ``overlap >= min_overlap``, smallest p
    first, with columns ``term, overlap, set_size`` (panel genes in the set), ``p_value, adjusted_p,
    odds_ratio`` (gseapy's, Haldane-corrected) and ``genes`` (overlapping genes, ``;``-joined).
    The p filter is strict (as the paper's p < 0.001); pass ``max_adjusted_p=1.01, min_overlap=1`` to see
    every tested term with a hit.
    """
    universe = frozenset(background)
    outside = sorted(set(genes) - universe)
    if outside:
        raise ValueError(
            f"{len(outside)} query genes are not in the background (e.g. {outside[:5]}); "
            "the background must be the panel the genes were ranked from"
        )
    gene_sets = _sets_in_background(collection, universe, min_overlap)
    query = set(genes)
    if not any(query.intersection(members) for members in gene_sets.values()):
        return pd.DataFrame(columns=COLUMNS)  # nothing to test; gseapy would log an error for it
    result = gseapy.enrich(
        gene_list=list(dict.fromkeys(genes)),
        gene_sets=dict(gene_sets),
        background=sorted(universe),
        outdir=None,
        no_plot=True,
        verbose=False,
    )
    hits = result.res2d
    counts = hits["Overlap"].str.split("/", expand=True).astype(int)
    table = pd.DataFrame(
        {
            "term": hits["Term"],
            "overlap": counts[0],
            "set_size": counts[1],
            "p_value": hits["P-value"].astype(float),
            "odds_ratio": hits["Odds Ratio"].astype(float),
            "genes": [";".join(sorted(overlap.split(";"))) for overlap in hits["Genes"]],
        }
    )
    # Sets without a hit are absent from gseapy's table; they enter the correction with p = 1.
    p_values = np.concatenate([table["p_value"].to_numpy(), np.ones(len(gene_sets) - len(table))])
    table["adjusted_p"] = false_discovery_control(p_values, method="bh")[: len(table)]
    significant = table[(table["adjusted_p"] < max_adjusted_p) & (table["overlap"] >= min_overlap)]
    return significant.sort_values(["p_value", "term"], ignore_index=True)[COLUMNS]


def ranked_sets(collection: str, genes: Sequence[str]) -> dict[str, list[str]]:
    """The sets of ``collection`` ranked enrichment tests against ``genes``: cut to them, of
    ``PRERANK_MIN_SIZE`` to ``PRERANK_MAX_SIZE`` genes."""
    cut = _sets_in_background(collection, frozenset(genes), PRERANK_MIN_SIZE)
    return {term: members for term, members in cut.items() if len(members) <= PRERANK_MAX_SIZE}


def ranked_enrichment(
    scores: pd.Series, collection: str, permutations: int = PRERANK_PERMUTATIONS, seed: int = 0
) -> pd.DataFrame:
    """GSEA preranked of ``scores`` (gene -> score over the whole panel, e.g. attributions) in ``collection``.

    Every tested set (``PRERANK_MIN_SIZE`` to ``PRERANK_MAX_SIZE`` panel genes) with columns ``term, set_size,
    nes`` (normalised enrichment score: > 0 = the set's genes sit at the high end of the scores), ``p_value``
    (nominal, from ``permutations`` gene-set permutations), ``fdr`` (gseapy's q-value) and ``leading_genes``
    (``;``-joined), smallest p first. The panel is the background: sets are cut to ``scores``' genes.
    """
    scores = scores.dropna().astype(float)
    if scores.index.has_duplicates:
        raise ValueError("scores must hold each gene once")
    gene_sets = ranked_sets(collection, scores.index)
    if not gene_sets:
        return pd.DataFrame(columns=RANKED_COLUMNS)
    with warnings.catch_warnings():  # gseapy 1.3 uses pandas' deprecated ``inplace``; nothing to act on here
        warnings.filterwarnings("ignore", message="The inplace keyword", module="gseapy")
        result = gseapy.prerank(
            rnk=scores.sort_values(ascending=False),
            gene_sets=gene_sets,
            min_size=PRERANK_MIN_SIZE,
            max_size=PRERANK_MAX_SIZE,
            permutation_num=permutations,
            seed=seed,
            threads=1,
            outdir=None,
            no_plot=True,
            verbose=False,
        ).res2d
    table = pd.DataFrame(
        {
            "term": result["Term"],
            "set_size": [len(gene_sets[term]) for term in result["Term"]],
            "nes": result["NES"].astype(float),
            "p_value": result["NOM p-val"].astype(float),
            "fdr": result["FDR q-val"].astype(float),
            "leading_genes": result["Lead_genes"],
        }
    )
    return table.sort_values(["p_value", "term"], ignore_index=True)
