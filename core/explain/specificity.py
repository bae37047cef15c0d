"""How drug-specific a model's explanations are: if the genes behind drug A's predictions are the genes
behind drug B's, the attributions explain the organoid, not the drug.

Two measures over every pair of drugs: the overlap of their top-k genes (fraction of k shared; the issue's
target for the default view is <= 0.30 at k = 50) and the cosine similarity of their attribution vectors
per organoid (1 = the same direction in gene space).
"""

from __future__ import annotations

import numpy as np

TOP_K_OVERLAP = 50


def top_k_overlap(importance: np.ndarray, k: int = TOP_K_OVERLAP) -> float:
    """Mean over drug pairs of the shared fraction of their ``k`` most important genes; ``importance`` is
    (drugs, genes), larger = more important."""
    importance = np.asarray(importance, dtype=float)
    if importance.ndim != 2 or len(importance) < 2 or importance.shape[1] < k:
        raise ValueError(f"importance must be (>= 2 drugs, >= {k} genes), got {importance.shape}")
    top = np.zeros(importance.shape, dtype=float)
    np.put_along_axis(top, np.argsort(-importance, axis=1, kind="stable")[:, :k], 1.0, axis=1)
    shared = top @ top.T / k
    upper = np.triu_indices(len(importance), 1)
    return float(shared[upper].mean())


def mean_cosine(attributions: np.ndarray) -> float:
    """Mean over samples and drug pairs of the cosine similarity of attribution vectors; ``attributions`` is
    (samples, drugs, genes). Pairs with an all-zero vector are left out."""
    attributions = np.asarray(attributions, dtype=float)
    if attributions.ndim != 3 or attributions.shape[1] < 2:
        raise ValueError(f"attributions must be (samples, >= 2 drugs, genes), got {attributions.shape}")
    norms = np.linalg.norm(attributions, axis=2, keepdims=True)
    unit = np.divide(attributions, norms, out=np.full_like(attributions, np.nan), where=norms > 0)
    cosines = np.einsum("sdg,seg->sde", unit, unit)
    upper = np.triu_indices(attributions.shape[1], 1)
    return float(np.nanmean(cosines[:, upper[0], upper[1]]))
