"""Min-max scaling of the response, fitted on training pairs only (as in Prasse et al.)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MinMaxTargetScaler:
    """Maps training responses to [0, 1]; new values may fall outside, which is kept, not clipped."""

    minimum: float = float("nan")
    maximum: float = float("nan")

    @property
    def is_fitted(self) -> bool:
        return bool(np.isfinite(self.minimum) and np.isfinite(self.maximum))

    def fit(self, values: np.ndarray) -> "MinMaxTargetScaler":
        values = np.asarray(values, dtype=np.float64)
        self.minimum, self.maximum = float(np.min(values)), float(np.max(values))
        if not self.maximum > self.minimum:
            raise ValueError("Cannot scale a constant response: every training value is the same.")
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((np.asarray(values, dtype=np.float64) - self.minimum) / (self.maximum - self.minimum)).astype(np.float32)

    def inverse_transform(self, scaled: np.ndarray) -> np.ndarray:
        return np.asarray(scaled, dtype=np.float64) * (self.maximum - self.minimum) + self.minimum

    def to_dict(self) -> dict[str, float]:
        return {"minimum": self.minimum, "maximum": self.maximum}

    @classmethod
    def from_dict(cls, state: dict[str, float]) -> "MinMaxTargetScaler":
        return cls(float(state["minimum"]), float(state["maximum"]))
