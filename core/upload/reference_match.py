"""Is an uploaded profile one of the reference organoids? A file exported from the public screen (van de
Wetering's organoid P10, say) is read like any other, but its z-scores then compare it with itself among the
reference organoids, and the bundles' cross-validated predictions already hold it: a reader must be told.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# log2 units: a copy of a reference profile written with 2 decimals (or converted from its own TPM) stays within
# it, two different organoids differ by far more on most genes.
SAME_VALUE = 0.01
SAME_SHARE = 0.99  # of the genes both profiles hold
MIN_SHARED_SHARE = 0.5  # of the reference organoid's genes, so that a few shared genes do not make a match


def identical_references(expression: pd.DataFrame, reference: pd.DataFrame) -> dict[str, str]:
    """Uploaded sample -> the reference organoid whose log2 profile it repeats, for the samples that repeat one.

    ``expression`` and ``reference``: log2 expression, samples x genes (genes by approved symbol). A sample repeats
    a reference organoid when they share at least half of its genes and agree within :data:`SAME_VALUE` on
    :data:`SAME_SHARE` of them.
    """
    genes = expression.columns.intersection(reference.columns)
    if genes.empty:
        return {}
    uploaded = expression[genes].to_numpy(float)
    found: dict[str, str] = {}
    for name, profile in reference[genes].iterrows():
        values = profile.to_numpy(float)
        both = ~np.isnan(uploaded) & ~np.isnan(values)
        shared = both.sum(axis=1)
        close = (np.abs(uploaded - values) <= SAME_VALUE) & both
        enough = shared >= MIN_SHARED_SHARE * reference.loc[name].notna().sum()
        repeats = enough & (close.sum(axis=1) >= SAME_SHARE * np.maximum(shared, 1))
        for sample in expression.index[repeats]:
            found.setdefault(str(sample), str(name))
    return found
