"""Evidence with power: a bundle's within-drug ordering of samples outside its organoid cross-validation.

19 organoids give a permutation null SD of 0.10-0.20 for the mean within-drug r; GDSC's 45 lines of the target
lineage give about 0.035. They are evidence about a bundle only if its training never saw them (``independent``):
true of the models trained from scratch on organoids, and of transferred models whose pre-training held the
lineage out; the shipped pre-training did not, so for those bundles the score is reported but weighs nothing.

Stored beside the organoid evidence (``<models>/benchmark/``): one row per bundle in :data:`SUMMARY_FILE`, one per
bundle and drug in :data:`DRUGS_FILE`, each tied to the bundle by the hash of its reference predictions, like
:func:`core.evaluation.evidence.stored_evidence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.evaluation.evidence import SIGNIFICANCE, Evidence, bundle_rows, evidence_from_row, reference_hash
from core.evaluation.reliability import DrugEvidence
from core.inference.manifest import Manifest

SUMMARY_FILE = "held_out_evidence.csv"
DRUGS_FILE = "held_out_drugs.csv"
ORDERS, NEUTRAL, DISORDERS = 1, 0, -1  # the powered verdicts, best first
VERDICT_WORDS = {
    ORDERS: "orders them within a drug better than chance",
    DISORDERS: "orders them the wrong way beyond chance",
    NEUTRAL: "no better than chance",
}


@dataclass(frozen=True)
class HeldOutEvidence:
    """The headline within-drug evidence of a bundle on a held-out cohort (one fold: the score is the plain mean
    over drugs of the per-drug Pearson r, the permutation shuffles all samples)."""

    cohort: str
    samples: int
    independent: bool  # the bundle's training never saw these samples
    evidence: Evidence

    @property
    def verdict(self) -> int:
        """:data:`ORDERS` when the bundle orders the held-out samples better than chance (r > 0, p < 0.05),
        :data:`DISORDERS` when it orders them the wrong way beyond chance (r < 0, the shuffles score higher in
        over 95 % of permutations), else :data:`NEUTRAL`; always neutral when the samples were not held out."""
        found = self.evidence
        if not self.independent:
            return NEUTRAL
        if found.within_drug > 0 and found.p_value < SIGNIFICANCE:
            return ORDERS
        if found.within_drug < 0 and found.p_value > 1 - SIGNIFICANCE:
            return DISORDERS
        return NEUTRAL

    @property
    def verdict_words(self) -> str:
        """The verdict in a few words; for samples the training saw, that the score is no test."""
        if not self.independent:
            return "not a test: its training saw them"
        return VERDICT_WORDS[self.verdict]

    def sentence(self) -> str:
        """What the score means for a reader, in one line."""
        found = self.evidence
        score = f"r = {found.within_drug:+.2f}, permutation p = {found.p_value:.2g}, {self.samples} samples"
        if not self.independent:
            return f"{self.cohort}: {score}; not evidence, the model's pre-training saw them."
        return f"{self.cohort}, never seen in training: {self.verdict_words} ({score})."


def summary_file(models_folder: Path) -> Path:
    return models_folder / "benchmark" / SUMMARY_FILE


def drugs_file(models_folder: Path) -> Path:
    return models_folder / "benchmark" / DRUGS_FILE


def summary_row(name: str, manifest: Manifest, found: HeldOutEvidence) -> dict[str, object]:
    return {
        "bundle": name,
        "reference_sha256": reference_hash(manifest),
        "cohort": found.cohort,
        "samples": found.samples,
        "independent": found.independent,
        **found.evidence.to_dict(),
    }


def drug_rows(name: str, manifest: Manifest, drugs: DrugEvidence) -> pd.DataFrame:
    return drugs.table[["drug", "n", "r", "se"]].assign(
        bundle=name, reference_sha256=reference_hash(manifest), mean_se=drugs.mean_se
    )


def stored_held_out(table: pd.DataFrame, name: str, manifest: Manifest) -> HeldOutEvidence | None:
    """The held-out evidence of bundle ``name`` in a :data:`SUMMARY_FILE` table, if computed from the same bundle;
    None for a bundle never scored there, rebuilt since, or whose row is damaged."""
    rows = bundle_rows(table, name, manifest)
    found = None if rows.empty else evidence_from_row(rows.iloc[0])
    if found is None:
        return None
    row = rows.iloc[0]
    try:
        return HeldOutEvidence(str(row["cohort"]), int(row["samples"]), _flag(row["independent"]), found)
    except (KeyError, TypeError, ValueError):
        return None


def _stored_drugs(table: pd.DataFrame, name: str, manifest: Manifest, cohort: str) -> DrugEvidence | None:
    rows = bundle_rows(table, name, manifest)
    if rows.empty or not rows["mean_se"].gt(0).all():
        return None
    return DrugEvidence(cohort, rows[["drug", "n", "r", "se"]].reset_index(drop=True), float(rows["mean_se"].iloc[0]))


def _read(path: Path) -> pd.DataFrame:
    """A stored table; empty when missing or unreadable (the bundle then has no held-out evidence)."""
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return pd.DataFrame(columns=["bundle", "reference_sha256"])


def held_out_of(models_folder: Path, name: str, manifest: Manifest) -> HeldOutEvidence | None:
    """The stored held-out evidence of bundle ``name`` in ``models_folder``; None when there is none for it."""
    return stored_held_out(_read(summary_file(models_folder)), name, manifest)


def independent_drug_evidence(models_folder: Path, name: str, manifest: Manifest) -> DrugEvidence | None:
    """The per-drug held-out evidence of bundle ``name``, as a source for
    :func:`core.evaluation.reliability.drug_reliability`: only where the bundle never saw the held-out samples
    (a fit to samples it trained on is not evidence)."""
    found = held_out_of(models_folder, name, manifest)
    if found is None or not found.independent:
        return None
    return _stored_drugs(_read(drugs_file(models_folder)), name, manifest, found.cohort)


def _flag(value: object) -> bool:
    """A boolean read back from CSV, where pandas may give a bool or the text "True"/"False"."""
    if isinstance(value, str):
        if value not in ("True", "False"):
            raise ValueError(f"not a boolean: {value!r}")
        return value == "True"
    return bool(value)
