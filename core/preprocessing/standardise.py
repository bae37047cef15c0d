"""Per-sample standardisation over a model's gene panel.

GDSC expression is only available as per-cell-line z-scores over a fixed 6,163-gene list, so raw log2
levels cannot be recovered. A per-sample z-score is invariant to any per-sample shift ``b`` and positive
scale ``a`` (``z(a*x + b) == z(x)``), so re-standardising every domain per sample over the panel genes gives
GDSC exactly what its raw log2 values restricted to the panel would have given, and puts every other
domain (organoids, uploads brought to log2) on the same footing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def standardise_per_sample(expression: pd.DataFrame, genes: list[str], allow_missing: bool = False) -> pd.DataFrame:
    """Restrict ``expression`` (samples x genes) to ``genes`` in that order and z-score each row.

    Uses the population standard deviation (``ddof=0``), so every output row has mean 0 and SD 1 over
    ``genes``; the choice only fixes a constant factor shared by all samples. Computed in float64,
    returned as float32.

    Raises ValueError if genes are repeated or missing, or if a sample has missing values or zero variance
    over the panel (its z-score would be undefined). With ``allow_missing`` (uploads), a panel gene absent
    from the matrix or without a value in a sample stays NaN and each sample is standardised over the
    genes it has; the caller decides what a missing gene becomes.
    """
    _check_genes(expression, genes, allow_missing)
    values = expression.reindex(columns=list(genes)).to_numpy(dtype=np.float64, copy=True)
    if not allow_missing:
        _check_finite(expression.index, values)
    values[~np.isfinite(values)] = np.nan
    centred = values - np.nanmean(values, axis=1, keepdims=True)
    scale = np.sqrt(np.nanmean(centred**2, axis=1, keepdims=True))
    _check_variance(expression.index, scale[:, 0])
    return pd.DataFrame((centred / scale).astype(np.float32), index=expression.index, columns=list(genes))


def _check_genes(expression: pd.DataFrame, genes: list[str], allow_missing: bool) -> None:
    """A panel gene absent from the matrix would silently change what the model sees; refuse it."""
    if len(genes) == 0:
        raise ValueError("The gene panel is empty.")
    repeated = pd.Index(genes)[pd.Index(genes).duplicated()].unique().tolist()
    if repeated:
        raise ValueError(f"The gene panel repeats {len(repeated)} gene(s): {_preview(repeated)}")
    if expression.columns.has_duplicates:
        raise ValueError("The expression matrix has duplicated gene columns; collapse them first.")
    missing = [gene for gene in genes if gene not in expression.columns]
    if missing and not allow_missing:
        raise ValueError(
            f"{len(missing)} of {len(genes)} panel genes are missing from the expression matrix: "
            f"{_preview(missing)}"
        )


def _check_finite(samples: pd.Index, values: np.ndarray) -> None:
    bad = samples[~np.isfinite(values).all(axis=1)].tolist()
    if bad:
        raise ValueError(f"{len(bad)} sample(s) have missing or infinite values on panel genes: {_preview(bad)}")


def _check_variance(samples: pd.Index, scale: np.ndarray) -> None:
    flat = samples[~(scale > 0)].tolist()  # zero, or NaN for a sample with no value at all
    if flat:
        raise ValueError(f"{len(flat)} sample(s) have zero variance over the panel genes: {_preview(flat)}")


def _preview(items: list, limit: int = 10) -> str:
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")
