"""How far a cross-validated model's ordering of samples within a drug can be trusted: the fold-centred
within-drug score with its permutation null, from the model's out-of-fold predictions.

This is the evidence the dashboard puts first: a model whose headline score is at or below 0 orders
patients no better than a drug's average does, and one whose score the permutation null reaches often
(p >= 0.05) may be doing so by chance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from core.inference.manifest import Manifest

# The scoring modules (scipy.stats, about 2 s) are imported where they are used: the dashboard imports this
# module on every start to read the stored evidence, and its home page must not wait for scipy.

SIGNIFICANCE = 0.05
# At or above this permutation p, a quarter or more of shuffled orderings score as well: the model's ordering is
# what chance gives, so no evidence at all, not a weak one.
CHANCE_LEVEL_P = 0.25
N_PERMUTATIONS = 1000

# The evidence scale, worst first: the words every page, the HTML report and the performance table use.
NO_BETTER, CHANCE, WEAK, ORDERS = "no better", "chance", "weak", "orders"
GRADE_WORDS = {
    NO_BETTER: "Orders organoids no better than each drug's average",
    CHANCE: "No evidence of patient-specific ordering",
    WEAK: "Weak evidence of patient-specific ordering",
    ORDERS: "Orders organoids within a drug better than chance",
}


@dataclass(frozen=True)
class Evidence:
    """Headline (fold-centred) within-drug Pearson, its Spearman twin, the pooled-residual score it replaces,
    and the permutation test of the headline score (samples shuffled within folds, once for all drugs)."""

    within_drug: float
    within_drug_spearman: float
    within_drug_residual: float
    null_sd: float
    p_value: float
    n_permutations: int

    @property
    def orders_samples(self) -> bool:
        """Above 0 and beyond what shuffled samples reach in 95 % of permutations."""
        return self.grade == ORDERS

    @property
    def grade(self) -> str:
        """Where the evidence stands on the scale of :data:`GRADE_WORDS`: at or below 0, within chance
        (p >= :data:`CHANCE_LEVEL_P`), weak (p below that but not below :data:`SIGNIFICANCE`), or ordering."""
        if self.within_drug <= 0:
            return NO_BETTER
        if self.p_value >= CHANCE_LEVEL_P:
            return CHANCE
        return WEAK if self.p_value >= SIGNIFICANCE else ORDERS

    def verdict(self) -> str:
        """One plain sentence a clinician can act on: the grade's words, the score, what to make of it."""
        from core.evaluation.metrics import HEADLINE, METRICS

        score = (
            f"cross-validated {METRICS[HEADLINE].label} = {self.within_drug:+.2f}, permutation p = {self.p_value:.2g}"
        )
        advice = {
            NO_BETTER: ": do not read its ranking as patient-specific.",
            CHANCE: f": shuffled organoids score as well in {self.p_value:.0%} of permutations.",
            WEAK: ": could be chance.",
            ORDERS: ".",
        }
        return f"{GRADE_WORDS[self.grade]} ({score}){advice[self.grade]}"

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def evidence(out_of_fold: pd.DataFrame, n_permutations: int = N_PERMUTATIONS, seed: int = 0) -> Evidence:
    """The evidence of a bundle's reference predictions (columns sample, drug, y_pred, y_true, fold)."""
    from core.evaluation.cohort_scores import scored_table
    from core.evaluation.metrics import within_drug, within_drug_fold
    from core.evaluation.permutation import permutation_test

    table = scored_table(out_of_fold)
    if table.empty:
        raise ValueError("no screened response among the reference predictions: nothing to score")
    test = permutation_test(table, n_permutations, seed)
    return Evidence(
        test.observed,
        within_drug_fold(table, "spearman"),
        within_drug(table),
        test.null_sd,
        test.p_value,
        test.n_permutations,
    )


EVIDENCE_FILE = "bundle_evidence.csv"  # in <models>/benchmark/, written by training_scripts.build.bundle_evidence
REFERENCE_FILE = "reference_predictions.csv.gz"


def evidence_file(models_folder: Path) -> Path:
    """Where the precomputed evidence of the bundles in ``models_folder`` lies."""
    return models_folder / "benchmark" / EVIDENCE_FILE


def reference_hash(manifest: Manifest) -> str:
    """SHA-256 of a bundle's reference predictions (what its evidence is computed from), from its manifest."""
    return manifest.files.get(REFERENCE_FILE, "")


def stored_evidence(table: pd.DataFrame, name: str, manifest: Manifest) -> Evidence | None:
    """The precomputed evidence of bundle ``name`` in ``table`` (rows of :func:`evidence_row`), if it was
    computed from the same reference predictions; None for a bundle rebuilt since, never scored, or whose row
    is damaged (a value that is not a number, or out of its range): computed again rather than shown."""
    rows = bundle_rows(table, name, manifest)
    return None if rows.empty else evidence_from_row(rows.iloc[0])


def bundle_rows(table: pd.DataFrame, name: str, manifest: Manifest) -> pd.DataFrame:
    """The rows of a stored table (columns bundle, reference_sha256, ...) computed from bundle ``name`` as it is
    now (same reference predictions); none for a bundle rebuilt since, or a table without those columns."""
    if not {"bundle", "reference_sha256"} <= set(table.columns):
        return table.iloc[0:0]
    return table[(table["bundle"] == name) & (table["reference_sha256"] == reference_hash(manifest))]


def evidence_from_row(row: pd.Series) -> Evidence | None:
    """An :class:`Evidence` read back from a stored row; None when a value is missing, not a number, or out of
    its range (the pooled-residual score may be NaN: it is undefined on a held-out cohort, which has no training
    folds to take a baseline from)."""
    try:
        found = Evidence(
            float(row["within_drug"]),
            float(row["within_drug_spearman"]),
            float(row["within_drug_residual"]),
            float(row["null_sd"]),
            float(row["p_value"]),
            int(row["n_permutations"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    scores = (found.within_drug, found.within_drug_spearman)
    residual_readable = math.isnan(found.within_drug_residual) or -1 <= found.within_drug_residual <= 1
    plausible = (
        all(-1 <= r <= 1 for r in scores) and residual_readable and found.null_sd >= 0 and 0 < found.p_value <= 1
    )
    return found if plausible and found.n_permutations > 0 else None


def best_architecture(evidence_by_architecture: dict[str, list[Evidence]]) -> str | None:
    """The architecture whose models (e.g. its from-scratch and fine-tuned pair) have the highest mean headline
    within-drug score: the pair a page should open on. None when nothing is scored."""
    means = {
        architecture: sum(e.within_drug for e in found) / len(found)
        for architecture, found in evidence_by_architecture.items()
        if found
    }
    return max(means, key=means.get) if means else None


def evidence_row(name: str, manifest: Manifest, found: Evidence) -> dict[str, object]:
    return {"bundle": name, "reference_sha256": reference_hash(manifest), **found.to_dict()}
