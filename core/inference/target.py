"""The training target: the response min-max scaled on training pairs only (as in Prasse et al.), optionally
centred per drug first.

Centred per drug (``drug_centred``), the network learns each pair's deviation from the drug's training
mean: how much more or less sensitive this sample is than the drug's average, which is what a per-drug
z-score ranks. Left uncentred, most of the variance it fits is how potent each drug is on average, which
orders no patient. The drug means are kept (by canonical SMILES) and added back to every prediction, so
the model still predicts the response itself; a drug it never trained on gets the mean of all training
responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TARGETS = ("minmax", "drug_centred")


@dataclass
class MinMaxTargetScaler:
    """Maps training responses (minus their drug's training mean, when ``drug_means`` is set) to [0, 1]; new
    values may fall outside, which is kept, not clipped."""

    minimum: float = float("nan")
    maximum: float = float("nan")
    drug_means: dict[str, float] = field(default_factory=dict)  # canonical SMILES -> training mean
    overall_mean: float = 0.0  # offset of a drug without a training mean (0 when not centred)

    @property
    def is_fitted(self) -> bool:
        return bool(np.isfinite(self.minimum) and np.isfinite(self.maximum))

    @property
    def centred(self) -> bool:
        return bool(self.drug_means)

    def fit(
        self, values: np.ndarray, smiles: np.ndarray | None = None, centre_per_drug: bool = False
    ) -> "MinMaxTargetScaler":
        """Fit on training responses; ``smiles`` (one per value) is needed to centre per drug."""
        values = np.asarray(values, dtype=np.float64)
        if centre_per_drug:
            if smiles is None:
                raise ValueError("centring per drug needs each training value's drug structure (smiles)")
            smiles = np.asarray(smiles, dtype=object)
            self.drug_means = {s: float(values[smiles == s].mean()) for s in np.unique(smiles)}
            self.overall_mean = float(values.mean())
        residual = values - self._offsets(smiles, len(values))
        self.minimum, self.maximum = float(np.min(residual)), float(np.max(residual))
        if not self.maximum > self.minimum:
            raise ValueError("Cannot scale a constant response: every training value is the same.")
        return self

    def _offsets(self, smiles: np.ndarray | None, n: int) -> np.ndarray:
        if not self.centred:
            return np.zeros(n)
        if smiles is None:
            raise ValueError("this target is centred per drug: pass each value's drug structure (smiles)")
        return np.array([self.drug_means.get(s, self.overall_mean) for s in np.asarray(smiles, dtype=object)])

    def transform(self, values: np.ndarray, smiles: np.ndarray | None = None) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64) - self._offsets(smiles, len(values))
        return ((values - self.minimum) / (self.maximum - self.minimum)).astype(np.float32)

    def inverse_transform(self, scaled: np.ndarray, smiles: np.ndarray | None = None) -> np.ndarray:
        scaled = np.asarray(scaled, dtype=np.float64)
        offsets = self._offsets(smiles, scaled.size).reshape(scaled.shape)
        return scaled * (self.maximum - self.minimum) + self.minimum + offsets

    def to_dict(self) -> dict[str, object]:
        state: dict[str, object] = {"minimum": self.minimum, "maximum": self.maximum}
        if self.centred:
            state.update(drug_means=self.drug_means, overall_mean=self.overall_mean)
        return state

    @classmethod
    def from_dict(cls, state: dict) -> "MinMaxTargetScaler":
        return cls(
            float(state["minimum"]),
            float(state["maximum"]),
            {k: float(v) for k, v in (state.get("drug_means") or {}).items()},
            float(state.get("overall_mean", 0.0)),
        )
