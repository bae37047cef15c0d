"""One organoid's drug ranking as a person reads it: column headers, tie marks, the sign convention, drugs outside
the assay's range. The page, its CSV download and the HTML report use these, so all three read the same.
"""

from __future__ import annotations

import pandas as pd

from core.data.summary import DATASET_LABELS
from core.evaluation.metrics import HEADLINE, METRICS
from core.study_design import TARGET_COHORT


def ranking_columns(unit: str = "AUC") -> dict[str, str]:
    """Ranking table column -> header a clinician reads (the CSV download uses the same)."""
    return {
        "rank": "rank",
        "drug": "drug",
        "p_more_sensitive": "P(more sensitive)",  # than the median reference organoid, calibrated
        "coin": "no better than a coin",
        "predicted": f"predicted {unit}",
        "uncertainty": f"± {unit}",
        "z_score": "z-score",
        "z_uncertainty": "± z",
        "tie": "tied?",
        "reliability_r": f"CV {METRICS[HEADLINE].label}",  # the headline score, per drug
        "no_better_than_naive": "no better than naive",
    }


TIED_WITH_FIRST, TIED_WITH_NEIGHBOUR = "≈ #1", "≈ next"


TIE_SENTENCE = (
    f"**tied?**: *{TIED_WITH_FIRST}* = the drug's z ± interval overlaps rank 1's, so it cannot be told "
    f"apart from the top drug; *{TIED_WITH_NEIGHBOUR}* = it overlaps the drug ranked just above or below it."
)


def tie_marks(ranking: pd.DataFrame) -> pd.Series:
    """Per drug of a ranking sorted by rank, which ranks its z cannot be told apart from: rank 1's (the
    intervals z ± z_uncertainty overlap) or, failing that, an adjacent rank's; "" when it stands apart, for
    rank 1 itself, and where no uncertainty is known."""
    z, spread = ranking["z_score"].to_numpy(float), ranking["z_uncertainty"].to_numpy(float)

    def overlaps(i: int, j: int) -> bool:
        return 0 <= j < len(z) and abs(z[i] - z[j]) <= spread[i] + spread[j]  # False when a spread is NaN

    marks = [
        TIED_WITH_FIRST
        if i > 0 and overlaps(i, 0)
        else TIED_WITH_NEIGHBOUR
        if i > 0 and (overlaps(i, i - 1) or overlaps(i, i + 1))
        else ""
        for i in range(len(z))
    ]
    return pd.Series(marks, index=ranking.index, dtype=object)


def outside_assay_range(ranking: pd.DataFrame, unit: str) -> list[str]:
    """Drugs whose predicted AUC lies outside 0-1, the range an AUC can take (none for other units): a model
    extrapolating there says "beyond the screen's range", not a precise value."""
    if unit != "AUC":
        return []
    outside = ranking[(ranking["predicted"] > 1) | (ranking["predicted"] < 0)]
    return outside.sort_values("rank")["drug"].tolist()


def reference_sentence(n_reference: int, cohort: str = TARGET_COHORT) -> str:
    """The sign convention in one sentence, with the size of the reference cohort (a registered dataset by its
    description, a user's own cohort by its label)."""
    source = (
        f"the {n_reference} {DATASET_LABELS[cohort]}"
        if cohort in DATASET_LABELS
        else f"the {n_reference} organoids of the {cohort}"
        + ("" if cohort.lower().endswith("cohort") else " cohort")  # "walk lab cohort", not "... cohort cohort"
    )
    return (
        f"Negative z-score = predicted more sensitive than the average organoid of the reference cohort, "
        f"{source}, from their cross-validated predictions."
    )


def highlighted_top(annotated: pd.DataFrame, k: int) -> pd.Series:
    """Per row of an annotated ranking, whether it is highlighted as a top drug: among the first ``k`` ranks and with
    evidence for sensitivity (P above 1/2, not a coin). A drug the model is no better than a coin for is never
    highlighted, however extreme its z: the page, the CSV and the report mark the same rows."""
    return (annotated["rank"] <= k) & (annotated["p_more_sensitive"] > 0.5) & ~annotated["coin"].astype(bool)


def display_table(annotated: pd.DataFrame, unit: str = "AUC") -> pd.DataFrame:
    """Column names a clinician reads (and the CSV download uses), with the tie marks of the z-scores as
    shown (none once the spread is withheld, see :func:`without_spread`)."""
    table = annotated.sort_values("rank").assign(tie=lambda t: tie_marks(t))
    return table[[c for c in ranking_columns() if c in table.columns]].rename(columns=ranking_columns(unit))
