"""Simulated lab and platform shifts of real profiles: what the out-of-range check must flag and what the cohort
alignment must undo, at magnitudes taken from a real difference (GDSC's cell lines against the organoids)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.labshift.reference import ReferenceProfile

DISTORTION = 0.3  # exponent change of the monotone distortion at full magnitude (0.7 or 1.3)


@dataclass(frozen=True)
class ShiftSize:
    """A lab's effect at full magnitude: SD of its per-gene offsets (log2) and of its per-gene log scale factors."""

    offset_sd: float
    log_scale_sd: float


def measured_shift(other: pd.DataFrame, reference: ReferenceProfile) -> ShiftSize:
    """The shift between ``other`` (one source's profiles, any scale) and the reference: each profile is first put on
    the reference's scale by its best affine map (per-sample location and scale do not count), then per gene the
    mean offset and the log ratio of SDs are taken."""
    mean, _ = reference.series()
    genes = other.columns.intersection(mean.index)
    mapped = []
    for _, profile in other[genes].iterrows():
        values = profile.to_numpy(np.float64)
        slope, intercept = np.polyfit(mean[genes].to_numpy(), values, 1)
        mapped.append((values - intercept) / slope)
    mapped = pd.DataFrame(mapped, columns=genes)
    _, reference_sd = reference.series()
    offsets = mapped.mean(axis=0) - mean[genes]
    log_scales = np.log(mapped.std(axis=0, ddof=1) / reference_sd[genes])
    return ShiftSize(float(offsets.std()), float(log_scales.std()))


def shift_profiles(profiles: pd.DataFrame, size: ShiftSize, magnitude: float, rng: np.random.Generator) -> pd.DataFrame:
    """``profiles`` (one simulated lab: samples x genes, log2) with one draw of a lab effect at ``magnitude`` x
    ``size``: per-gene offsets and scale factors around the cohort's gene means, then a monotone distortion of the
    whole scale (a power curve between the lowest and highest value, as a different scanner or normalisation)."""
    genes = profiles.columns
    offsets = rng.normal(0.0, size.offset_sd * magnitude, len(genes))
    scales = np.exp(rng.normal(0.0, size.log_scale_sd * magnitude, len(genes)))
    centre = profiles.mean(axis=0).to_numpy()
    shifted = centre + (profiles.to_numpy(np.float64) - centre) * scales + offsets
    low, high = np.nanmin(shifted), np.nanmax(shifted)
    exponent = 1.0 + magnitude * DISTORTION * rng.choice([-1.0, 1.0])
    distorted = low + (high - low) * ((shifted - low) / (high - low)) ** exponent
    return pd.DataFrame(distorted.astype(np.float32), index=profiles.index, columns=genes)
