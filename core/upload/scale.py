"""Recognise the scale of uploaded expression values and bring them to log2(x + 1).

The models learned from log2-scale expression; linear FPKM/TPM or raw counts fed unconverted would be
off by orders of magnitude, so the scale is detected and converted, always with a stated warning.
Thresholds, on the finite values of the whole upload:

- ``LOG2_MAX`` = 25: log2 expression never gets there (2**20 TPM would be the entire library; microarray
  log2 intensities top out near 16), while a genome-wide linear profile has its top genes in the hundreds
  to hundreds of thousands (the heavy right tail of FPKM/TPM/counts). Max <= 25 reads as log2.
- Negative values exist only on log-type scales. With max <= ``STANDARDISED_MAX`` (10) and a median
  within +-1 the data are centred, i.e. z-scores or log-ratios; otherwise they are log2 without a
  pseudocount (log2 FPKM, voom logCPM), whose top genes reach 2**12 and more.
- Counts: at least 90 % of the non-zero values are whole numbers (FPKM/TPM almost never are; zeros
  are left out because they are whole on every scale). Counts with max <= 25 are refused: too shallow.
- ``MIN_LIBRARY_SIZE`` = 1e6 counts per sample: below it a gene at 10 CPM has fewer than 10 reads and
  its log2 CPM is mostly Poisson noise.

Standardised input is passed through unchanged (a z-score cannot be turned back into an expression
level) with a warning; the report records it so the prediction step can decide whether it can use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from core.upload.errors import UploadError, name_list

LOG2_MAX = 25.0
STANDARDISED_MAX = 10.0
STANDARDISED_MAX_ABS_MEDIAN = 1.0
COUNT_WHOLE_FRACTION = 0.9
MIN_LIBRARY_SIZE = 1e6
# CPM over a targeted panel depends on which genes the panel holds; genome-wide profiles have >10,000.
MIN_GENES_FOR_CPM = 10_000


class Scale(StrEnum):
    LOG2 = "log2"
    LOG2_NO_PSEUDOCOUNT = "log2 without pseudocount"
    STANDARDISED = "standardised (z-score or log-ratio)"
    LINEAR = "linear (FPKM/TPM-like)"
    COUNTS = "raw counts"


@dataclass
class ScaledValues:
    """Values on log2(x + 1) scale (standardised input unchanged) and how they got there."""

    values: pd.DataFrame
    scale: Scale
    transformation: str
    warnings: list[str] = field(default_factory=list)


def detect_scale(values: pd.DataFrame) -> Scale:
    """Scale of a samples x genes table; refuses mixed scales and values no scale explains."""
    sample_max = values.max(axis=1)
    above = sample_max > LOG2_MAX
    if above.any() and not above.all():
        raise UploadError(
            f"Samples seem to be on different scales: {name_list(sample_max.index[above])} look linear "
            f"(max > {LOG2_MAX:g}) while {name_list(sample_max.index[~above])} look log2. "
            "Upload all samples on the same scale."
        )
    finite = values.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    high, low, median = finite.max(), finite.min(), float(np.median(finite))
    if low < 0:
        if high > LOG2_MAX:
            raise UploadError(
                f"Values reach {high:,.0f} yet some are negative ({low:,.1f}); expression on a linear scale "
                "cannot be negative (batch-corrected or background-subtracted data?). "
                "Upload unprocessed FPKM/TPM, read counts or log2 values."
            )
        if high <= STANDARDISED_MAX and abs(median) <= STANDARDISED_MAX_ABS_MEDIAN:
            return Scale.STANDARDISED
        return Scale.LOG2_NO_PSEUDOCOUNT
    nonzero = finite[finite != 0]
    whole = nonzero.size > 0 and np.mean(nonzero == np.round(nonzero)) >= COUNT_WHOLE_FRACTION
    if high <= LOG2_MAX:
        if whole:
            raise UploadError(
                f"All values are small whole numbers (max {high:g}): neither log2 expression nor a count "
                "profile deep enough to trust. Upload FPKM/TPM, log2 values, or counts from a full RNA-seq run."
            )
        return Scale.LOG2
    return Scale.COUNTS if whole else Scale.LINEAR


def to_log2(values: pd.DataFrame) -> ScaledValues:
    """Bring values to log2(x + 1), saying what was done and why in the warnings."""
    scale = detect_scale(values)
    high, low = np.nanmax(values.to_numpy()), np.nanmin(values.to_numpy())
    if scale is Scale.LOG2:
        return ScaledValues(values, scale, "none (already log2)")
    if scale is Scale.STANDARDISED:
        return ScaledValues(
            values,
            scale,
            "none (standardised values cannot be converted back)",
            [
                f"Values look standardised (centred on 0, max {high:.1f}: z-scores or log-ratios). They cannot be "
                "turned back into expression levels and are used unchanged; predictions are only meaningful if the "
                "values were standardised like the model's training data. Upload log2, FPKM/TPM or counts if you can."
            ],
        )
    if scale is Scale.LOG2_NO_PSEUDOCOUNT:
        return ScaledValues(
            np.log2(np.exp2(values) + 1),
            scale,
            "log2(2^x + 1)",
            [
                f"Values look like log2 without a pseudocount (down to {low:.1f}); converted to log2(2^x + 1) "
                "to match the log2(x + 1) scale of the models."
            ],
        )
    if scale is Scale.LINEAR:
        return ScaledValues(
            np.log2(values + 1),
            scale,
            "log2(x + 1)",
            [f"Values look linear (FPKM/TPM-like, max {high:,.0f}); converted to log2(x + 1)."],
        )
    converted, warnings = _counts_to_log2_cpm(values)
    return ScaledValues(converted, scale, "log2(CPM + 1), CPM = counts / library size x 1e6", warnings)


def _counts_to_log2_cpm(values: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    library = values.sum(axis=1)
    shallow = library[library < MIN_LIBRARY_SIZE]
    if len(shallow):
        raise UploadError(
            f"The values look like read counts, but {name_list(shallow.index)} have only {shallow.min():,.0f} "
            f"counts in total (at least {MIN_LIBRARY_SIZE:,.0f} needed for trustworthy levels). "
            "Upload FPKM/TPM or counts from a full-depth RNA-seq run."
        )
    warnings = [
        "Values look like raw read counts; converted by library-size normalisation to log2(CPM + 1). "
        "This is approximate: CPM is not corrected for gene length like the FPKM/TPM the models learned "
        "from. Upload FPKM or TPM if you have them."
    ]
    n_genes = int(values.notna().any().sum())
    if n_genes < MIN_GENES_FOR_CPM:
        warnings.append(
            f"Library sizes come from only {n_genes:,} genes, so CPM depends on which genes the "
            "file holds; a genome-wide count table gives more reliable levels."
        )
    return np.log2(values.div(library, axis=0) * 1e6 + 1), warnings
