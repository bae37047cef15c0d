"""Domain alignment of per-sample z-scored expression between cell lines (reference) and organoids (target).

Each method is fitted on the reference samples and the target domain's *training* samples only and then
applied, unchanged, to held-out target samples. Which one to use is decided on the within-drug score of
the models built on top (see :mod:`core.transfer.study`), not on how well a classifier can tell the
domains apart.

- ``none``: per-sample z-scores as they are.
- ``cohort_standardisation``: every gene centred and scaled within its own domain, so a gene's level is
  read relative to the other samples of the same cohort.
- ``combat``: ComBat in reference-batch mode (the target's location and scale per gene moved onto the
  reference's, with empirical-Bayes shrinkage), the alignment the networks use.
- ``contrastive_pca``: the alignment step of Celligner (Warren et al., Nat Commun 2021): genes centred per
  domain, the leading eigenvectors of the difference of the two domains' covariance matrices (directions
  of variance present in one domain but not the other, e.g. stroma or culture effects), regressed out of
  both domains.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from core.preprocessing.combat import ComBatHarmoniser

REFERENCE, TARGET = "reference", "target"


class Alignment(Protocol):
    def fit(self, reference: np.ndarray, target: np.ndarray) -> "Alignment": ...

    def transform(self, values: np.ndarray, domain: str) -> np.ndarray: ...


class NoAlignment:
    def fit(self, reference: np.ndarray, target: np.ndarray) -> "NoAlignment":
        return self

    def transform(self, values: np.ndarray, domain: str) -> np.ndarray:
        return values


class CohortStandardisation:
    """Per-gene mean and SD of each domain (training samples), applied to that domain's samples."""

    def fit(self, reference: np.ndarray, target: np.ndarray) -> "CohortStandardisation":
        self.moments = {
            domain: (values.mean(axis=0), values.std(axis=0) + 1e-6)
            for domain, values in ((REFERENCE, reference), (TARGET, target))
        }
        return self

    def transform(self, values: np.ndarray, domain: str) -> np.ndarray:
        mean, sd = self.moments[domain]
        return (values - mean) / sd


class ComBatAlignment:
    """Reference-batch ComBat: the target is moved onto the reference, the reference is left as it is."""

    def fit(self, reference: np.ndarray, target: np.ndarray) -> "ComBatAlignment":
        genes = [f"g{i}" for i in range(reference.shape[1])]
        stacked = pd.DataFrame(np.vstack([reference, target]), columns=genes)
        labels = [REFERENCE] * len(reference) + [TARGET] * len(target)
        self.genes, self.combat = genes, ComBatHarmoniser().fit(stacked, labels)
        return self

    def transform(self, values: np.ndarray, domain: str) -> np.ndarray:
        if domain == REFERENCE:
            return values
        frame = pd.DataFrame(values, columns=self.genes)
        return self.combat.transform_to_reference(frame, TARGET, REFERENCE).to_numpy(np.float64)


class ContrastivePCA:
    """Celligner's contrastive PCA: remove the ``n_components`` directions whose variance differs most
    between the domains (largest absolute eigenvalues of the covariance difference), after centring genes
    per domain."""

    def __init__(self, n_components: int = 4) -> None:
        self.n_components = n_components

    def fit(self, reference: np.ndarray, target: np.ndarray) -> "ContrastivePCA":
        self.means = {REFERENCE: reference.mean(axis=0), TARGET: target.mean(axis=0)}
        difference = np.cov(target - self.means[TARGET], rowvar=False) - np.cov(
            reference - self.means[REFERENCE], rowvar=False
        )
        eigenvalues, eigenvectors = np.linalg.eigh(difference)
        order = np.argsort(-np.abs(eigenvalues))[: self.n_components]
        self.components = eigenvectors[:, order]  # genes x components, orthonormal
        return self

    def transform(self, values: np.ndarray, domain: str) -> np.ndarray:
        centred = values - self.means[domain]
        return centred - (centred @ self.components) @ self.components.T


ALIGNMENTS: dict[str, type] = {
    "none": NoAlignment,
    "cohort_standardisation": CohortStandardisation,
    "combat": ComBatAlignment,
    "contrastive_pca": ContrastivePCA,
}


def make_alignment(name: str) -> Alignment:
    if name not in ALIGNMENTS:
        raise ValueError(f"unknown alignment {name!r}; choose from {sorted(ALIGNMENTS)}")
    return ALIGNMENTS[name]()
