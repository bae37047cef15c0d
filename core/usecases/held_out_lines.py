"""A bundle scored on GDSC's cell lines of its target lineage: the held-out test with power
(:mod:`core.evaluation.held_out`).

The lines are aligned onto the reference organoids as one cohort, as the app aligns another lab's organoids
(:func:`core.labshift.align.align_to_reference`), and predicted like an upload; their measured GDSC response
(same direction: lower is more sensitive) is the truth, joined on the drug's GDSC name. One fold, so the
fold-centred scores and the within-fold permutation null of the organoid evidence apply unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.registry import load_cohort
from core.data.tissues import COLORECTAL_LABEL, lines_of_tissue
from core.evaluation.evidence import evidence
from core.evaluation.held_out import HeldOutEvidence
from core.evaluation.reliability import DrugEvidence, cross_validated_evidence
from core.inference.bundle import ModelBundle
from core.inference.manifest import Manifest
from core.labshift.align import align_to_reference
from core.labshift.reference import load_reference_profile
from core.usecases.predict import member_predictions

LINEAGE_OF_COHORT = {"colorectal": COLORECTAL_LABEL}  # target cohort -> TCGA label of its GDSC lines
HELD_OUT_TISSUES = "held_out_tissues"  # the pre-training settings' key listing the lineages it never saw
MIN_LINES_PER_DRUG = 10


def lineage_label(cohort: str) -> str:
    return f"GDSC {cohort} lines"


def lines_for(models_folder: Path, cohort: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The GDSC lines of ``cohort``'s lineage aligned onto its reference organoids (lines x genes), and their
    screened responses (long: sample, drug by GDSC name, value)."""
    gdsc = load_cohort("gdsc1")
    lines = lines_of_tissue(gdsc.expression, LINEAGE_OF_COHORT[cohort]).astype(np.float64)
    aligned = align_to_reference(lines, load_reference_profile(models_folder, cohort))
    responses = gdsc.responses[gdsc.responses["sample"].isin(lines.index)][["sample", "drug", "value"]]
    return aligned, responses.reset_index(drop=True)


def independent_of_lines(manifest: Manifest) -> bool:
    """True when the bundle never trained on its lineage's GDSC lines: trained on organoids only, or transferred
    from a pre-training that held that lineage out (recorded in its settings)."""
    if manifest.pretraining is None:
        return True
    held_out = (manifest.pretraining.get("settings") or {}).get(HELD_OUT_TISSUES) or []
    return LINEAGE_OF_COHORT.get(manifest.target_cohort) in held_out


def line_predictions(bundle: ModelBundle, lines: pd.DataFrame, responses: pd.DataFrame) -> pd.DataFrame:
    """sample, drug (the bundle's name), y_pred, y_true, fold (0) for every line and bundle drug GDSC screened on
    at least :data:`MIN_LINES_PER_DRUG` of the lines; replicate screens averaged."""
    predicted = pd.DataFrame(
        member_predictions(bundle, lines).mean(axis=0), index=lines.index, columns=bundle.drugs["drug"].to_numpy()
    )
    measured = responses.groupby(["drug", "sample"])["value"].mean()
    parts = []
    for drug, gdsc_name in bundle.drugs.set_index("drug")["gdsc_name"].dropna().items():
        if gdsc_name not in measured.index.get_level_values(0):
            continue
        truth = measured.loc[gdsc_name]
        truth = truth[truth.index.isin(lines.index)]
        if len(truth) < MIN_LINES_PER_DRUG:
            continue
        parts.append(
            pd.DataFrame(
                {"sample": truth.index, "drug": drug, "y_pred": predicted.loc[truth.index, drug], "y_true": truth}
            )
        )
    return pd.concat(parts, ignore_index=True).assign(fold=0)


def held_out_evidence(
    bundle: ModelBundle, lines: pd.DataFrame, responses: pd.DataFrame
) -> tuple[HeldOutEvidence, DrugEvidence]:
    """The bundle's headline evidence on the lines and its per-drug evidence (a source for the drug reliability)."""
    table = line_predictions(bundle, lines, responses)
    cohort = lineage_label(bundle.manifest.target_cohort)
    summary = HeldOutEvidence(cohort, table["sample"].nunique(), independent_of_lines(bundle.manifest), evidence(table))
    return summary, cross_validated_evidence(table, source=cohort)
