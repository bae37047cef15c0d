"""Gene rankings from integrated-gradient attributions: which genes drove a drug's predictions.

Prasse et al. 2022 summed attributions over the drug-organoid pairs of a drug and took the top 200
genes. A plain signed sum lets contributions of opposite sign cancel, and with a z-scored input they
routinely do: for a gene whose higher expression raises the predicted response, an organoid above
average gets a positive attribution and one below average a negative one, so a gene that moved every
prediction can sum to about zero. Genes are therefore **ranked by the sum of absolute attributions**
(``importance``: how much the gene moved predictions, in either direction), and the signed sum is kept
(``signed``) with its sign as ``direction``.

``direction`` reads on the model's output, the scaled response where lower means more sensitive:
``"resistance"`` when, summed over the pairs, the gene's deviations from average pushed predictions up,
``"sensitivity"`` when they pushed them down. For one pair this is exact; summed over organoids it is
the net push of the deviations observed in that cohort, not "higher expression means resistance".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

TOP_GENES_TESTED = 200  # genes per drug tested for pathway over-representation in the paper


def _direction(signed: np.ndarray) -> np.ndarray:
    return np.where(signed > 0, "resistance", np.where(signed < 0, "sensitivity", "none"))


def top_genes(attributions: np.ndarray, genes: Sequence[str], k: int | None = TOP_GENES_TESTED) -> pd.DataFrame:
    """The ``k`` most important genes (all when ``k`` is None), most important first.

    ``attributions`` is one pair's vector (genes,) or rows of pairs (pairs, genes) summed over the rows:
    a drug's organoids for a cohort ranking, one organoid's drugs for an organoid-wide ranking. Ties in
    importance are broken by gene symbol so the ranking is reproducible.
    """
    rows = np.atleast_2d(np.asarray(attributions, dtype=np.float64))
    if rows.ndim != 2 or rows.shape[1] != len(genes):
        raise ValueError(
            f"attributions must be (genes,) or (pairs, genes) with {len(genes)} genes, got {np.shape(attributions)}"
        )
    signed = rows.sum(axis=0)
    table = pd.DataFrame(
        {"gene": list(genes), "importance": np.abs(rows).sum(axis=0), "signed": signed, "direction": _direction(signed)}
    )
    table = table.sort_values(["importance", "gene"], ascending=[False, True], kind="stable", ignore_index=True)
    return table if k is None else table.head(k).reset_index(drop=True)


def top_genes_per_drug(
    attributions: np.ndarray,
    genes: Sequence[str],
    drugs: Sequence[str],
    k: int | None = TOP_GENES_TESTED,
    measured: np.ndarray | None = None,
) -> dict[str, pd.DataFrame]:
    """Drug -> its top genes, summing a cohort's attributions (organoids, drugs, genes) over organoids.

    ``measured`` (organoids, drugs), if given, keeps only the pairs with a measured response, as the
    paper summed over the drug-organoid pairs of its data; a drug without any measured pair is left out.
    """
    if attributions.ndim != 3 or attributions.shape[1] != len(drugs):
        raise ValueError(
            f"attributions must be (organoids, drugs, genes) with {len(drugs)} drugs, got {attributions.shape}"
        )
    mask = np.ones(attributions.shape[:2], dtype=bool) if measured is None else np.asarray(measured, dtype=bool)
    if mask.shape != attributions.shape[:2]:
        raise ValueError(f"measured must be (organoids, drugs) = {attributions.shape[:2]}, got {mask.shape}")
    return {
        drug: top_genes(attributions[mask[:, index], index], genes, k)
        for index, drug in enumerate(drugs)
        if mask[:, index].any()
    }
