"""Gene panels of the models, as in Prasse et al. 2022.

- ``tdnn`` (also used by ConvNN): union of the GDSC cancer genes, the LINCS L1000 landmark genes and
  the OncoKB cancer genes, brought to current HGNC symbols, intersected with the genes measured in
  every domain the model sees (GDSC cell lines and the target cohort).
- ``paccmann``: the PaccMann list (2,128 names, 2,127 approved symbols), intersected the same way.

Genes a domain did not measure are left out, never padded with invented values: the GDSC expression
covers only 5,757 genes (5,778 names; no BRAF, KRAS or APC), so the panels are smaller than the paper's lists.
A panel is a fact about the gene lists and the cohorts' measured genes, so it lives beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from core.config import data_root
from core.data.genes import GeneMapper, GeneMapping
from core.study_design import PRETRAINING_COHORT, TARGET_COHORT

PANEL_NAMES = ("tdnn", "paccmann")
_LIST_FILES = {
    "gdsc": "gdsc_cancer_genes.txt",
    "lincs": "lincs_cancer_genes.txt",
    "oncokb": "oncokb_cancer_genes.tsv",
    "paccmann": "paccmann_gene_list.txt",
}
_PANEL_LISTS = {"tdnn": ("gdsc", "lincs", "oncokb"), "paccmann": ("paccmann",)}


@dataclass
class PanelBuild:
    """A panel and how it was reached: listed genes, HGNC mapping, and what each domain lacked."""

    name: str
    genes: list[str]
    listed: int  # approved symbols the source lists name
    mapping: GeneMapping
    missing_by_domain: dict[str, list[str]]


def read_gene_list(list_name: str) -> list[str]:
    """Raw symbols of one source list in ``paper_resources/``, duplicates removed, order kept."""
    path = data_root() / "paper_resources" / _LIST_FILES[list_name]
    if path.suffix == ".tsv":
        symbols = pd.read_csv(path, sep="\t")["Hugo Symbol"].astype(str).tolist()
    else:
        # The GDSC list flags some genes with a trailing "*"; the flag is not part of the symbol.
        symbols = [line.strip().rstrip("*") for line in path.read_text().splitlines() if line.strip()]
    return list(dict.fromkeys(symbols))


def listed_genes(panel_name: str) -> tuple[list[str], GeneMapping]:
    """Approved symbols of the lists behind ``panel_name``, with the mapping report."""
    if panel_name not in _PANEL_LISTS:
        raise KeyError(f"Unknown panel {panel_name!r}; known: {', '.join(PANEL_NAMES)}")
    raw = list(dict.fromkeys(s for list_name in _PANEL_LISTS[panel_name] for s in read_gene_list(list_name)))
    result = GeneMapper.from_shared_data().map_identifiers(raw)
    return sorted(set(result.mapping.values())), result


def build_panel(panel_name: str, domains: dict[str, pd.Index]) -> PanelBuild:
    """Listed genes measured in every domain (``domains``: domain name -> its expression columns)."""
    listed, result = listed_genes(panel_name)
    missing = {name: sorted(set(listed) - set(columns)) for name, columns in domains.items()}
    absent_anywhere = set().union(*missing.values()) if missing else set()
    genes = [g for g in listed if g not in absent_anywhere]
    return PanelBuild(panel_name, genes, len(listed), result, missing)


@lru_cache(maxsize=len(PANEL_NAMES))
def load_panel(panel_name: str = "tdnn") -> list[str]:
    """The default panel: GDSC1 cell lines intersected with the colorectal organoids.

    A model bundle stores its own panel; this default serves the command-line upload check.
    """
    from core.data.registry import load_cohort

    domains = {name: load_cohort(name).expression.columns for name in (PRETRAINING_COHORT, TARGET_COHORT)}
    return build_panel(panel_name, domains).genes
