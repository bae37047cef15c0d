"""One organoid's drug ranking as the app and the report show it, assembled in one place.

The ranking joins three things: the bundle's predictions for the organoid as z-scores against its
reference cohort (:func:`core.usecases.predict.rank_drugs`), each drug's cross-validated within-drug r from the
bundle's reference predictions (:func:`core.evaluation.cohort_scores.per_drug_reliability`), and, for a
zero-shot bundle, no uncertainty: its members share one pre-trained network, so their spread is not one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.cohort_scores import per_drug_reliability
from core.evaluation.evidence import Evidence, best_training
from core.evaluation.metrics import TOP_DRUGS_OVERLAP
from core.inference.bundle import ModelBundle
from core.inference.manifest import Manifest
from core.usecases.predict import rank_drugs
from core.usecases.ranking_table import ranking_columns

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


def cohort_rankings(
    bundle: ModelBundle, expression: pd.DataFrame, reliability: pd.DataFrame | None = None
) -> pd.DataFrame:
    """:func:`organoid_ranking` of every organoid in ``expression`` from one prediction pass, stacked (each
    sample's rows sorted by rank): what ``pdo-rank`` writes, row for row what the app shows for each organoid."""
    if reliability is None:
        reliability = drug_reliability(bundle)
    ranked = rank_drugs(bundle, expression)
    tables = [
        annotate_ranking(group, reliability).assign(sample=sample)
        for sample, group in ranked.groupby("sample", sort=False)
    ]
    table = pd.concat(tables, ignore_index=True)
    return without_spread(table) if spread_withheld(bundle.manifest) else table


ALWAYS_SHOWN = ("scratch", "finetuned")  # the comparison the app is built around; zero-shot joins when it leads


def shown_trainings(evidence_by_training: dict[str, Evidence | None]) -> list[str]:
    """The trainings of one architecture a ranking opens on, best evidence first: from scratch and fine-tuned,
    plus zero-shot when its evidence is the best of the three; unscored ones last, in the study's order."""
    best = best_training(evidence_by_training)
    shown = [t for t in evidence_by_training if t in ALWAYS_SHOWN or t == best]

    def strength(training: str) -> float:
        found = evidence_by_training[training]
        return found.within_drug if found is not None else float("-inf")

    return sorted(shown, key=strength, reverse=True)


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


def without_spread(ranking: pd.DataFrame) -> pd.DataFrame:
    """The ranking with no uncertainty: for a bundle whose members share one network (zero-shot), the members'
    spread is not the model's uncertainty, so none is shown rather than a misleading near-zero."""
    return ranking.assign(uncertainty=np.nan, z_uncertainty=np.nan)


def annotate_ranking(ranking: pd.DataFrame, reliability: pd.DataFrame) -> pd.DataFrame:
    """One sample's ranking (from ``rank_drugs``) with each drug's cross-validated within-drug r attached.

    ``no_better_than_naive`` is True where the bundle's cross-validated within-drug correlation
    (fold-centred, so the naive per-drug mean and anything constant within a fold score 0) is <= 0, or could not be computed (too few screened
    organoids): the model's ordering of organoids for that drug is no better than predicting the drug's
    average.
    """
    r = reliability.set_index("drug")["r"]
    table = ranking.sort_values("rank").reset_index(drop=True)
    table["reliability_r"] = table["drug"].map(r).astype(float)
    table["no_better_than_naive"] = ~(table["reliability_r"] > 0)
    return table[[c for c in ranking_columns() if c in table.columns]]


@dataclass(frozen=True)
class RankingAgreement:
    spearman: float  # Spearman rank correlation of the two models' z-scores over shared drugs
    top_overlap: int  # drugs in both models' top k
    k: int
    n_drugs: int
    shared_top: tuple[str, ...]


def paired_rankings(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """The drugs both rankings of one sample hold: ``drug, z_score_a, rank_a, z_score_b, rank_b``."""
    return first[["drug", "z_score", "rank"]].merge(
        second[["drug", "z_score", "rank"]], on="drug", suffixes=("_a", "_b")
    )


def ranking_agreement(first: pd.DataFrame, second: pd.DataFrame, k: int = TOP_DRUGS_OVERLAP) -> RankingAgreement:
    """How far two rankings of one sample agree (tables with ``drug, z_score, rank``)."""
    merged = paired_rankings(first, second)
    from scipy.stats import spearmanr  # imported on use: it costs every page that imports this module ~2 s

    rho = float(spearmanr(merged["z_score_a"], merged["z_score_b"]).statistic) if len(merged) >= 3 else float("nan")
    top_a = set(first.nsmallest(k, "rank")["drug"])
    top_b = set(second.nsmallest(k, "rank")["drug"])
    shared = tuple(sorted(top_a & top_b))
    return RankingAgreement(rho, len(shared), k, len(merged), shared)
