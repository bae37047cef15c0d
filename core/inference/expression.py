"""Expression -> model input: panel genes, per-sample z-score, ComBat onto the pre-training domain.

ComBat runs in reference-batch mode: GDSC (the reference) is left as it is and the target domain is
moved onto it. The pre-trained model therefore never depends on which organoids were in a training
fold, and the parameters (fitted on GDSC + training organoids only) are stored and re-applied to held-out
organoids and uploads without refitting.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.preprocessing.combat import ComBatHarmoniser
from core.preprocessing.standardise import standardise_per_sample

REFERENCE_BATCH = "reference"
TARGET_BATCH = "target"


class ExpressionPreprocessor:
    """Turns any expression matrix (log2 or z-scored, genes as columns) into the model's gene input."""

    def __init__(
        self, genes: list[str], combat: ComBatHarmoniser | None = None, reference_means: np.ndarray | None = None
    ) -> None:
        self.genes = list(genes)
        self.combat = combat
        self.reference_means = reference_means

    def fit(self, reference: pd.DataFrame, target: pd.DataFrame | None) -> "ExpressionPreprocessor":
        """Fit on the pre-training samples and, if given, the target domain's *training* samples."""
        reference_z = standardise_per_sample(reference, self.genes)
        self.reference_means = reference_z.to_numpy(np.float64).mean(axis=0)
        if target is not None and len(target) >= 2:
            target_z = standardise_per_sample(target, self.genes)
            stacked = pd.concat([reference_z, target_z])
            labels = [REFERENCE_BATCH] * len(reference_z) + [TARGET_BATCH] * len(target_z)
            self.combat = ComBatHarmoniser().fit(stacked, labels)
        return self

    def transform(self, expression: pd.DataFrame, domain: str, allow_missing: bool = False) -> np.ndarray:
        """Model input for samples of ``domain`` (``"reference"`` or ``"target"``).

        With ``allow_missing`` (uploads), each sample is standardised over the panel genes it has and
        a missing gene is set to the reference cohort's mean for that gene: a neutral value, so the
        model sees "average", not an invented level. The upload QC reports which genes were missing.
        """
        standard = standardise_per_sample(expression, self.genes, allow_missing)
        missing = standard.isna().to_numpy()
        means = np.broadcast_to(self.reference_means.astype(np.float32), standard.shape)
        full = standard.where(~missing, means)
        if domain != REFERENCE_BATCH and self.combat is not None:
            full = self.combat.transform_to_reference(full, TARGET_BATCH, REFERENCE_BATCH)
            full = full.where(~missing, means)
        return full.to_numpy(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {
            "genes": self.genes,
            "combat": None if self.combat is None else self.combat.to_dict(),
            "reference_means": None if self.reference_means is None else self.reference_means.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "ExpressionPreprocessor":
        combat = None if state["combat"] is None else ComBatHarmoniser.from_dict(state["combat"])
        means = None if state["reference_means"] is None else np.asarray(state["reference_means"])
        return cls(state["genes"], combat, means)
