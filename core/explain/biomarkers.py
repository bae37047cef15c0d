"""Do attributions find known biomarkers? A correctness check of the explanations on GDSC cell lines, where
the biology is established (``known_biomarkers.csv``: drug, gene, what high expression means, evidence,
source).

The list holds only markers whose gene is in the tDNN panel; the strongest textbook markers are not
(GDSC's expression lacks MDM2, CDKN1A, ERBB2, ABCB1 and ESR1), so p53 targets, MAPK output genes and
lineage factors stand in where the literature supports them.

For each (drug, gene) the gene's rank among the panel by attribution importance (mean |attribution| over
the explained lines; 1 = most important) is turned into a percentile (rank / panel size). The null is the
same statistic with each marker gene replaced by a random panel gene (same drugs): a ranking that ignores
the biology puts the median percentile near 0.5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BIOMARKER_FILE = Path(__file__).with_name("known_biomarkers.csv")


def load_biomarkers() -> pd.DataFrame:
    """The literature list, one row per (drug, gene)."""
    return pd.read_csv(BIOMARKER_FILE)


def biomarker_ranks(importance: pd.DataFrame, markers: pd.DataFrame) -> pd.DataFrame:
    """``markers`` with ``rank`` and ``percentile`` of each gene among ``importance``'s columns for its drug.

    ``importance`` is drugs x genes (rows indexed by drug name); markers whose drug or gene it lacks are
    dropped (the caller reports them).
    """
    usable = markers[markers["drug"].isin(importance.index) & markers["gene"].isin(importance.columns)]
    ranks = importance.rank(axis=1, ascending=False, method="average")
    rank = [ranks.at[drug, gene] for drug, gene in zip(usable["drug"], usable["gene"])]
    return usable.assign(rank=rank, percentile=np.asarray(rank, dtype=float) / importance.shape[1]).reset_index(
        drop=True
    )


def random_gene_null(importance: pd.DataFrame, markers: pd.DataFrame, draws: int = 10_000, seed: int = 0) -> np.ndarray:
    """Median percentile of ``draws`` marker lists with each gene replaced by a uniformly drawn panel gene."""
    ranked = biomarker_ranks(importance, markers)
    percentiles = (importance.rank(axis=1, ascending=False, method="average") / importance.shape[1]).loc[ranked["drug"]]
    rng = np.random.default_rng(seed)
    columns = rng.integers(0, importance.shape[1], size=(draws, len(ranked)))
    drawn = percentiles.to_numpy()[np.arange(len(ranked)), columns]
    return np.median(drawn, axis=1)


def summarise(ranked: pd.DataFrame, null: np.ndarray) -> dict[str, float]:
    """Median percentile, share in the top 5 % and the one-sided permutation p against the random-gene null."""
    median = float(ranked["percentile"].median())
    return {
        "markers": len(ranked),
        "median_percentile": median,
        "share_top5pct": float((ranked["percentile"] <= 0.05).mean()),
        "null_median": float(np.median(null)),
        "p_value": float((1 + np.sum(null <= median)) / (1 + len(null))),
    }
