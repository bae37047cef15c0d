"""One organoid's drug ranking as the app and the report show it, assembled in one place.

The ranking joins four things: the bundle's predictions for the organoid as z-scores against its
reference cohort (:func:`core.usecases.predict.rank_drugs`), each drug's cross-validated within-drug r from the
bundle's reference predictions (:func:`core.evaluation.cohort_scores.per_drug_reliability`), the calibrated
probability that the organoid is more sensitive than the median reference organoid, from z and the drug's
reliability shrunk across drugs (:mod:`core.evaluation.calibration`), and, for a zero-shot bundle, no
uncertainty: its members share one pre-trained network, so their spread is not one.

Drugs are ranked by that probability, then by z: a drug whose reliability cannot be told from 0 gets a coin's
1/2, so it ranks below every drug with evidence for sensitivity, however extreme its z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.evaluation.calibration import calibrated_probability, reference_z_bound
from core.evaluation.default_model import default_training, evidence_order
from core.evaluation.evidence import Evidence
from core.evaluation.held_out import HeldOutEvidence
from core.evaluation.metrics import TOP_DRUGS_OVERLAP
from core.evaluation.reliability import DrugEvidence
from core.inference.bundle import ModelBundle
from core.inference.manifest import Manifest
from core.usecases.predict import rank_drugs
from core.usecases.ranking_table import ranking_columns

REPORT_TOP_DRUGS = 3  # the report explains the top drugs of one ranking, plus the drug the user picked
SHARED_NETWORK_TRAININGS = ("zeroshot",)  # members that differ only in their ComBat fit: no ensemble spread


def drug_reliability(bundle: ModelBundle, held_out: DrugEvidence | None = None) -> pd.DataFrame:
    """Per drug of the bundle: its cross-validated within-drug r on the reference organoids (``r``), that r shrunk
    across drugs with its 95 % interval (``reliability``, ``reliability_low``, ``reliability_high``,
    ``better_than_coin``), the posterior on the Fisher-z scale (``z_mean``, ``z_sd``) and how far the reference
    z-scores reach (``z_bound``): everything :func:`annotate_ranking` needs, computed once per bundle.

    ``held_out``: the bundle's per-drug evidence on samples its training never saw
    (:func:`core.evaluation.held_out.independent_drug_evidence`), combined with the organoids' before shrinking."""
    from core.evaluation.reliability import cross_validated_evidence
    from core.evaluation.reliability import drug_reliability as shrunk_reliability

    out_of_fold = bundle.reference_predictions
    drugs = bundle.drugs["drug"]
    if out_of_fold["y_true"].notna().any():
        evidence = cross_validated_evidence(out_of_fold)  # its table holds the raw per-drug r too
        raw = evidence.table.set_index("drug")["r"].reindex(drugs)
        sources = [evidence] if held_out is None else [evidence, held_out]
        shrunk = shrunk_reliability(sources).for_drugs(drugs).set_index("drug")
    else:  # a panel bundle: predictions without a screen, so no evidence on any drug
        raw = pd.Series(np.nan, index=drugs)
        shrunk = pd.DataFrame(
            {"r": np.nan, "r_low": np.nan, "r_high": np.nan, "z_mean": 0.0, "z_sd": 0.0, "better_than_coin": False},
            index=drugs,
        )
    return pd.DataFrame(
        {
            "drug": drugs.to_numpy(),
            "r": raw.to_numpy(),
            "reliability": shrunk["r"].to_numpy(),
            "reliability_low": shrunk["r_low"].to_numpy(),
            "reliability_high": shrunk["r_high"].to_numpy(),
            "better_than_coin": shrunk["better_than_coin"].to_numpy(bool),
            "z_mean": shrunk["z_mean"].to_numpy(float),
            "z_sd": shrunk["z_sd"].to_numpy(float),
            "z_bound": reference_z_bound(out_of_fold).reindex(drugs).to_numpy(float),
        }
    )


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


def shown_trainings(
    evidence_by_training: dict[str, Evidence | None], held_out: dict[str, HeldOutEvidence | None] | None = None
) -> list[str]:
    """The trainings of one architecture a ranking opens on, best evidence first
    (:func:`core.evaluation.default_model.evidence_order`): from scratch and fine-tuned, plus zero-shot when it is
    the default; unscored ones last, in the study's order."""
    best = default_training(evidence_by_training, held_out)
    return [t for t in evidence_order(evidence_by_training, held_out) if t in ALWAYS_SHOWN or t == best]


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
    """One sample's ranking (from ``rank_drugs``) with each drug's evidence (:func:`drug_reliability`) and its
    calibrated probability attached, ranked by that probability, then by z.

    ``p_more_sensitive``: the probability that the organoid is more sensitive to the drug than the median
    reference organoid (:func:`core.evaluation.calibration.calibrated_probability`); ``coin`` is True where the
    drug's reliability interval reaches 0, so the model is no better than a coin for it and p is 1/2.

    ``no_better_than_naive`` is True where the bundle's cross-validated within-drug correlation
    (fold-centred, so the naive per-drug mean and anything constant within a fold score 0) is <= 0, or could not be computed (too few screened
    organoids): the model's ordering of organoids for that drug is no better than predicting the drug's
    average.
    """
    evidence = reliability.set_index("drug").reindex(ranking["drug"])
    table = ranking.reset_index(drop=True).assign(
        reliability_r=evidence["r"].to_numpy(float),
        p_more_sensitive=calibrated_probability(ranking["z_score"], evidence, evidence["z_bound"].to_numpy(float)),
        coin=~evidence["better_than_coin"].to_numpy(bool),
    )
    table["no_better_than_naive"] = ~(table["reliability_r"] > 0)
    table = table.sort_values(["p_more_sensitive", "z_score"], ascending=[False, True], ignore_index=True)
    table["rank"] = np.arange(1, len(table) + 1)
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
