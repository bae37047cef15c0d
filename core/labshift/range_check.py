"""Does a profile look like the reference organoids? Two figures, each against what the reference organoids
show among themselves, and a plain verdict with what to do.

- **Lab/platform shift** (:func:`shift_score`): the profile is mapped onto the reference's scale by the one affine
  map ``x = a * reference_mean + b`` that fits it best over the shared genes (a per-sample location and scale
  changes nothing for the models, which z-score every sample), and each gene's deviation from the reference mean is
  divided by the reference organoids' SD of that gene. The score is the robust SD (1.4826 x median absolute value)
  of those deviations: about 1 for a reference-like organoid, whose genes deviate as much as the reference
  organoids' do among themselves; another lab's offsets and scales, or another platform, raise it for most genes.
- **Tissue** (:func:`tissue_score`): the mean within-profile percentile of the reference tissue's marker genes
  (for colorectal: CDX2, VIL1, CDH17, ...). Percentiles are read within one profile, so the figure does not depend
  on the lab or platform; a profile whose markers sit low is not of the reference tissue.

The limits are set in the reference statistics (``training_scripts.build.build_reference_profile``) from the reference
organoids alone; ``training_scripts.studies.labshift_study`` measures how they do on other sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.labshift.reference import ReferenceProfile

MIN_SHARED_GENES = 500  # fewer genes shared with the reference: neither figure can be read
ROBUST_SD = 1.4826  # median absolute value -> SD for normal deviations
SHIFT, TISSUE = "shift_score", "tissue_score"


@dataclass(frozen=True)
class RangeVerdict:
    """The out-of-range check of one profile. ``problem``: None (in range), "lab", "tissue" or "unchecked"."""

    sample: str
    shift_score: float
    tissue_score: float
    shift_limit: float
    tissue_limit: float
    n_shared_genes: int
    aligned: bool
    problem: str | None
    message: str

    @property
    def in_range(self) -> bool:
        return self.problem is None


def shared_values(profile: pd.Series, reference: ReferenceProfile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(profile, reference mean, reference SD) over the genes the profile has a value for and the reference holds."""
    mean, sd = reference.series()
    present = profile.dropna()
    genes = present.index.intersection(mean.index)
    return present[genes].to_numpy(np.float64), mean[genes].to_numpy(), sd[genes].to_numpy()


def shift_score(profile: pd.Series, reference: ReferenceProfile) -> float:
    """Robust SD of the profile's gene-wise deviations from the reference mean, in reference SDs (see module)."""
    values, mean, sd = shared_values(profile, reference)
    if len(values) < MIN_SHARED_GENES:
        return float("nan")
    slope, intercept = np.polyfit(mean, values, 1)
    if not slope > 0:  # anti-correlated with the reference: nothing like it
        return float("inf")
    deviations = ((values - intercept) / slope - mean) / sd
    return float(ROBUST_SD * np.median(np.abs(deviations)))


def tissue_score(profile: pd.Series, reference: ReferenceProfile) -> float:
    """Mean percentile (0-1) of the reference tissue's markers within the profile's genes shared with the reference."""
    mean, _ = reference.series()
    present = profile.dropna()
    present = present[present.index.intersection(mean.index)]
    markers = [gene for gene in reference.tissue_markers if gene in present.index]
    if len(present) < MIN_SHARED_GENES or not markers:
        return float("nan")
    return float(present.rank(pct=True)[markers].mean())


def check_profile(
    sample: str, model_input: pd.Series, as_uploaded: pd.Series, reference: ReferenceProfile, aligned: bool
) -> RangeVerdict:
    """The verdict for one profile: lab shift measured on what the models read (``model_input``, aligned or not),
    tissue on the profile as uploaded (alignment gives every gene the reference's mean, markers included)."""
    shift_limit, tissue_limit = reference.limits[SHIFT], reference.limits[TISSUE]
    shift = shift_score(model_input, reference)
    tissue = tissue_score(as_uploaded, reference)
    n_shared = len(shared_values(as_uploaded, reference)[0])
    problem, message = _judge(shift, tissue, shift_limit, tissue_limit, n_shared, aligned, reference.cohort)
    return RangeVerdict(sample, shift, tissue, shift_limit, tissue_limit, n_shared, aligned, problem, message)


def _judge(
    shift: float, tissue: float, shift_limit: float, tissue_limit: float, n_shared: int, aligned: bool, cohort: str
) -> tuple[str | None, str]:
    if not (np.isfinite(tissue) and not np.isnan(shift)):
        return "unchecked", (
            f"Only {n_shared:,} of its genes are measured in the reference organoids (at least {MIN_SHARED_GENES} "
            "are needed): whether it looks like them cannot be checked, so its z-scores may not be comparable."
        )
    if tissue < tissue_limit:
        return "tissue", (
            f"This does not look like a {cohort} organoid: its {cohort} marker genes rank low within its own profile "
            f"(tissue score {tissue:.2f}; every reference organoid is above {tissue_limit:.2f}). The reference "
            "cohort does not apply, and its z-scores say nothing about this sample."
        )
    if shift > shift_limit:
        if aligned:
            return "lab", (
                f"Even after aligning your cohort onto the reference organoids, this organoid's genes deviate from "
                f"them {shift:.1f} times as much as the reference organoids differ among themselves (limit "
                f"{shift_limit:.1f}): an outlier of your cohort; read its z-scores with great caution."
            )
        return "lab", (
            f"Its genes deviate from the reference organoids {shift:.1f} times as much as the reference organoids "
            f"differ among themselves (limit {shift_limit:.1f}): the signature of another lab, protocol or platform, "
            "which dominates its z-scores. Upload it together with other organoids from your lab, processed the same "
            "way, so that they can be aligned as one cohort."
        )
    return None, (
        f"Looks like the reference organoids (lab/platform shift {shift:.1f}, limit {shift_limit:.1f}; tissue score "
        f"{tissue:.2f}, limit {tissue_limit:.2f})."
    )
