"""Bring gene identifiers (symbols, previous/alias symbols, Ensembl IDs) to current HGNC symbols.

Every dataset and every upload goes through :class:`GeneMapper`, so the gene panels of the models and
the columns of an expression matrix always speak the same vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from core.config import data_root

_MATCH_PRIORITY = {"approved": 0, "previous": 1, "alias": 2}
_ENSEMBL_PATTERN = re.compile(r"^(ENSG\d{11})(\.\d+)?(_PAR_Y)?$", re.IGNORECASE)


@dataclass
class GeneMapping:
    """What happened to each input identifier; shown to users and printed by the data report."""

    mapping: dict[str, str] = field(default_factory=dict)  # input identifier -> approved symbol
    renamed: dict[str, str] = field(default_factory=dict)  # subset of mapping whose name changed
    ambiguous: list[str] = field(default_factory=list)  # identifiers with several approved candidates
    unknown: list[str] = field(default_factory=list)  # identifiers HGNC does not know

    @property
    def n_mapped(self) -> int:
        return len(self.mapping)


def is_ensembl_id(identifier: str) -> bool:
    """True for human Ensembl gene IDs, with or without a version suffix (ENSG00000141510.16)."""
    return bool(_ENSEMBL_PATTERN.match(identifier.strip()))


def strip_ensembl_version(identifier: str) -> str:
    match = _ENSEMBL_PATTERN.match(identifier.strip())
    return match.group(1).upper() if match else identifier


class GeneMapper:
    """Maps identifiers to approved HGNC symbols using the HGNC tables in ``genes/``.

    Ambiguity rule (from the table's PROVENANCE): an approved symbol maps to itself; otherwise a
    unique ``previous`` match wins over ``alias`` matches; anything still ambiguous is reported, not guessed.
    """

    def __init__(self, symbol_to_approved: dict[str, str | None], ensembl_to_symbol: dict[str, str]):
        self._symbol_to_approved = symbol_to_approved
        self._ensembl_to_symbol = ensembl_to_symbol

    @classmethod
    def from_shared_data(cls) -> "GeneMapper":
        return _default_mapper()

    def map_one(self, identifier: str) -> str | None:
        """Approved symbol, or None when unknown or ambiguous."""
        key = identifier.strip()
        if is_ensembl_id(key):
            return self._ensembl_to_symbol.get(strip_ensembl_version(key))
        return self._symbol_to_approved.get(key.upper())

    def map_identifiers(self, identifiers: list[str] | pd.Index) -> GeneMapping:
        result = GeneMapping()
        for identifier in map(str, identifiers):
            key = identifier.strip()
            lookup_key = strip_ensembl_version(key) if is_ensembl_id(key) else key.upper()
            table = self._ensembl_to_symbol if is_ensembl_id(key) else self._symbol_to_approved
            if lookup_key not in table:
                result.unknown.append(identifier)
                continue
            approved = table[lookup_key]
            if approved is None:
                result.ambiguous.append(identifier)
                continue
            result.mapping[identifier] = approved
            if approved != key:
                result.renamed[identifier] = approved
        return result


def _resolve_symbol_table(lookup: pd.DataFrame) -> dict[str, str | None]:
    """One approved symbol per query, None where the query stays ambiguous."""
    lookup = lookup.assign(
        query=lookup["query_symbol"].str.upper(),
        priority=lookup["match_type"].map(_MATCH_PRIORITY),
    )
    best_priority = lookup.groupby("query")["priority"].transform("min")
    best = lookup.loc[lookup["priority"] == best_priority, ["query", "approved_symbol"]].drop_duplicates()
    n_candidates = best["query"].map(best["query"].value_counts())
    table: dict[str, str | None] = dict(zip(best["query"], best["approved_symbol"]))
    table.update(dict.fromkeys(best.loc[n_candidates > 1, "query"], None))
    return table


@lru_cache(maxsize=1)
def _default_mapper() -> GeneMapper:
    genes_dir = data_root() / "genes"
    lookup = pd.read_csv(genes_dir / "hgnc_symbol_lookup_2024-10-18.tsv.gz", sep="\t", dtype=str)
    symbol_table = _resolve_symbol_table(lookup)

    hgnc = pd.read_csv(
        genes_dir / "hgnc_complete_set_slim_2024-10-18.tsv.gz",
        sep="\t",
        dtype=str,
        usecols=["symbol", "ensembl_gene_id"],
    ).dropna()
    ensembl = dict(zip(hgnc["ensembl_gene_id"].str.upper(), hgnc["symbol"]))
    # Older GENCODE IDs (e.g. GDC's v22) that HGNC no longer lists: fall back to the 2017 BioMart map,
    # whose symbols are themselves brought up to date.
    biomart = pd.read_csv(
        data_root() / "patient" / "_reference" / "ensembl_to_symbol_protein_coding_biomart2017.csv.gz"
    )
    for ensembl_id, symbol in zip(biomart["ensembl_gene_id"], biomart["gene_symbol"]):
        current = symbol_table.get(str(symbol).upper())
        if ensembl_id not in ensembl and current:
            ensembl[ensembl_id] = current
    return GeneMapper(symbol_table, ensembl)
