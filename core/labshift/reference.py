"""The reference cohort's expression as statistics: per-gene mean and SD of its log2 profiles, the tissue markers
that say a profile is of the reference's tissue, and the limits of the out-of-range check.

An upload is aligned onto, and checked against, these statistics only: the reference organoids' profiles stay in
the shared data, and the app ships this summary (built by ``training_scripts.build.build_reference_profile``) in
``<models>/reference_profiles/<cohort>.json`` with the hashes of the data it came from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMAT = "reference-profile-v1"
FOLDER = "reference_profiles"
SD_FLOOR_QUANTILE = 0.10  # genes barely varying among 22 organoids would make any other lab look infinitely far


class ReferenceProfileError(Exception):
    """The reference statistics are missing or damaged: uploads cannot be aligned or checked."""


@dataclass(frozen=True)
class ReferenceProfile:
    """Per gene: mean and SD (floored) of the reference cohort's log2 expression, and how the check was set."""

    cohort: str
    genes: list[str]
    mean: np.ndarray
    sd: np.ndarray
    n_samples: int
    tissue_markers: list[str]
    limits: dict[str, float]  # shift_score and tissue_score limits of the out-of-range check
    provenance: dict[str, Any] = field(default_factory=dict)  # data hashes, versions, calibration figures

    @classmethod
    def from_expression(
        cls,
        cohort: str,
        expression: pd.DataFrame,
        tissue_markers: list[str],
        limits: dict[str, float] | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> "ReferenceProfile":
        """Statistics of ``expression`` (samples x genes, log2). Genes with fewer than 3 values are left out."""
        values = expression.astype(np.float64)
        counts = values.notna().sum(axis=0)
        values = values.loc[:, counts >= 3]
        sd = values.std(axis=0, ddof=1).to_numpy()
        floor = float(np.quantile(sd, SD_FLOOR_QUANTILE))
        markers = [gene for gene in tissue_markers if gene in values.columns]
        return cls(
            cohort=cohort,
            genes=[str(gene) for gene in values.columns],
            mean=values.mean(axis=0).to_numpy(),
            sd=np.maximum(sd, floor),
            n_samples=len(values),
            tissue_markers=markers,
            limits=dict(limits or {}),
            provenance=dict(provenance or {}),
        )

    def series(self) -> tuple[pd.Series, pd.Series]:
        """(mean, sd) indexed by gene."""
        index = pd.Index(self.genes)
        return pd.Series(self.mean, index=index), pd.Series(self.sd, index=index)

    def with_limits(self, limits: dict[str, float], provenance: dict[str, Any]) -> "ReferenceProfile":
        return ReferenceProfile(
            self.cohort, self.genes, self.mean, self.sd, self.n_samples, self.tissue_markers, limits, provenance
        )

    def to_json(self) -> str:
        payload = {
            "format": FORMAT,
            **{key: value for key, value in asdict(self).items() if key not in ("mean", "sd")},
            "mean": [round(float(v), 5) for v in self.mean],
            "sd": [round(float(v), 5) for v in self.sd],
        }
        body = json.dumps(payload, sort_keys=True)
        return json.dumps({"sha256": hashlib.sha256(body.encode()).hexdigest(), "profile": json.loads(body)}, indent=1)

    @classmethod
    def from_json(cls, text: str, label: str) -> "ReferenceProfile":
        try:
            stored = json.loads(text)
            payload = stored["profile"]
            body = json.dumps(payload, sort_keys=True)
        except (ValueError, KeyError, TypeError) as error:
            raise ReferenceProfileError(f"The reference statistics {label} are not valid JSON ({error}).") from error
        if hashlib.sha256(body.encode()).hexdigest() != stored.get("sha256") or payload.get("format") != FORMAT:
            raise ReferenceProfileError(
                f"The reference statistics {label} were altered or are of another format: rebuild them with "
                "`python -m training_scripts.build.build_reference_profile`."
            )
        return cls(
            cohort=payload["cohort"],
            genes=list(payload["genes"]),
            mean=np.asarray(payload["mean"], dtype=np.float64),
            sd=np.asarray(payload["sd"], dtype=np.float64),
            n_samples=int(payload["n_samples"]),
            tissue_markers=list(payload["tissue_markers"]),
            limits={key: float(value) for key, value in payload["limits"].items()},
            provenance=payload["provenance"],
        )


def reference_profile_path(models_folder: Path, cohort: str) -> Path:
    return models_folder / FOLDER / f"{cohort}.json"


def save_reference_profile(profile: ReferenceProfile, models_folder: Path) -> Path:
    path = reference_profile_path(models_folder, profile.cohort)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(profile.to_json())
    return path


def load_reference_profile(models_folder: Path, cohort: str) -> ReferenceProfile:
    """The stored statistics of ``cohort``, verified; a plain :class:`ReferenceProfileError` when unusable."""
    path = reference_profile_path(models_folder, cohort)
    if not path.is_file():
        raise ReferenceProfileError(
            f"No reference statistics for the {cohort} cohort ({path.name} is missing): build them with "
            "`python -m training_scripts.build.build_reference_profile`."
        )
    return ReferenceProfile.from_json(path.read_text(), path.name)
