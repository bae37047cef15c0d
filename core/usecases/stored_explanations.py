"""Answers read from a reference bundle's precomputed explanations (``core.explain.precomputed``), when they hold them.

The genes and pathways pages first ask here; only where the stored tables do not answer (a drug or view not
precomputed, fewer genes stored than the page shows, a session's own bundle) do they compute attributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # the explain package loads TensorFlow; reading stored tables needs none of it
    from core.explain.precomputed import ReferenceExplanations

GENES_SHOWN = 50  # the most genes the genes page shows: a stored ranking needs at least these


def stored_gene_ranking(
    explained: ReferenceExplanations | None, drug: str, view: str, rows: int = GENES_SHOWN
) -> pd.DataFrame | None:
    """The reference cohort's gene ranking for ``drug`` in attribution ``view`` (best first), if at least ``rows``
    of its genes were stored; None otherwise (then the caller computes it)."""
    if explained is None:
        return None
    genes = explained.genes
    table = genes[(genes["drug"] == drug) & (genes["view"] == view)]
    if len(table) < rows:
        return None
    return table.sort_values("rank").drop(columns=["drug", "view", "rank"]).reset_index(drop=True)


def stored_ranked_pathways(explained: ReferenceExplanations | None, drug: str, collection: str) -> pd.DataFrame | None:
    """The reference cohort's ranked enrichment (GSEA preranked) for ``drug`` in ``collection``, if stored."""
    if explained is None:
        return None
    ranked = explained.ranked
    found = ranked[(ranked["drug"] == drug) & (ranked["collection"] == collection)]
    return found.drop(columns=["drug", "collection"]).reset_index(drop=True) if len(found) else None
