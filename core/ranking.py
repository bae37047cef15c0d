"""One organoid's drug ranking as the app and the report show it, assembled in one place.

The ranking joins three things: the bundle's predictions for the organoid as z-scores against its
reference cohort (:func:`core.predict.rank_drugs`), each drug's cross-validated within-drug r from the
bundle's reference predictions (:func:`core.evaluation.cohort_scores.per_drug_reliability`), and, for a
zero-shot bundle, no uncertainty: its members share one pre-trained network, so their spread is not one.
"""

from __future__ import annotations

import pandas as pd

from core.evaluation.cohort_scores import per_drug_reliability
from core.inference.bundle import ModelBundle
from core.inference.manifest import Manifest
from core.predict import rank_drugs
from core.report import annotate_ranking, without_spread

REPORT_TOP_DRUGS = 3  # the report explains the top drugs of one ranking, plus the drug the user picked
SHARED_NETWORK_TRAININGS = ("zeroshot",)  # members that differ only in their ComBat fit: no ensemble spread


def drug_reliability(bundle: ModelBundle) -> pd.DataFrame:
    """Per drug: the bundle's cross-validated within-drug r on its reference organoids (columns drug, r, ...)."""
    return per_drug_reliability(bundle.reference_predictions)


def organoid_ranking(
    bundle: ModelBundle, expression: pd.DataFrame, reliability: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The ranking of the one organoid in ``expression`` (one row), sorted by rank, with each drug's CV r and
    its "no better than naive" flag; the spread columns are NaN where the members share one network.

    ``reliability``: :func:`drug_reliability` of the bundle, where the caller keeps it between organoids.
    """
    if len(expression) != 1:
        raise ValueError(f"organoid_ranking ranks one organoid; got {len(expression)} rows.")
    if reliability is None:
        reliability = drug_reliability(bundle)
    table = annotate_ranking(rank_drugs(bundle, expression), reliability)
    return without_spread(table) if spread_withheld(bundle.manifest) else table


def spread_withheld(manifest: Manifest) -> bool:
    """True for a bundle whose members' spread is not an uncertainty (they share one network)."""
    return manifest.training in SHARED_NETWORK_TRAININGS


def reference_label(manifest: Manifest) -> str:
    """The name of the cohort a bundle's z-scores are relative to: a user's own cohort's label, else the target."""
    return (manifest.cohort or {}).get("label") or manifest.target_cohort


def drugs_to_explain(ranking: pd.DataFrame, picked: str | None, top: int = REPORT_TOP_DRUGS) -> list[str]:
    """The drugs whose genes the report explains: the ranking's ``top`` drugs, then ``picked`` if not among them."""
    first = ranking.sort_values("rank")["drug"].head(top)
    return list(dict.fromkeys([*first, *([picked] if picked is not None else [])]))
