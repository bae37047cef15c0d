"""Gene attributions of a whole bundle, in the shapes the dashboard shows: one drug at a time, for an
uploaded organoid (every fold model, averaged, as predictions are) or for the reference cohort (each
organoid explained by the fold model that never saw it, as its reference prediction was made).

Attributions come from :func:`core.explain.integrated_gradients.explain_cohort` on the gene input and are
converted from the model's scaled output back to response units (AUC): a member's output is min-max
scaled, so an attribution times ``maximum - minimum`` of its target scaler is that gene's share of
``prediction - prediction at the all-average baseline`` in AUC. Positive = the gene pushes the predicted
AUC up = towards resistance; negative = towards sensitivity.

Genes an upload lacks are fed to the model at the reference mean (see
:meth:`ExpressionPreprocessor.transform`); they were not measured, so they are left out of the
organoid's ranking rather than presented as drivers.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.artifacts import BundleMember, ModelBundle
from core.explain.enrichment import PAPER_MAX_ADJUSTED_P, PAPER_MIN_OVERLAP, over_representation
from core.explain.gene_ranking import TOP_K, top_genes
from core.explain.integrated_gradients import DEFAULT_STEPS, explain_cohort

COLUMNS = ["gene", "attribution", "importance", "direction"]


def _drug_index(bundle: ModelBundle, drug: str) -> int:
    drugs = list(bundle.drugs["drug"])
    if drug not in drugs:
        raise KeyError(f"{drug!r} is not one of the {len(drugs)} drugs of bundle {bundle.name}")
    return drugs.index(drug)


def _member_attributions(member: BundleMember, expression: pd.DataFrame, drug_index: int, steps: int) -> np.ndarray:
    """(samples, panel genes) attributions of one member for one drug, in response units."""
    trained = member.trained
    genes = trained.expression.transform(expression, trained.domain, allow_missing=True)
    drug_rows = {trained.drugs.input_name: member.drug_inputs[[drug_index]]}
    scaled = explain_cohort(trained.model, genes, drug_rows, steps=steps)[:, 0, :]
    return scaled * (trained.target.maximum - trained.target.minimum)


def organoid_attributions(bundle: ModelBundle, expression: pd.DataFrame, drug: str,
                          steps: int = DEFAULT_STEPS) -> pd.DataFrame:
    """Attributions of one organoid (``expression``: one row, genes as columns, log2) for ``drug``.

    Mean over the bundle's members; one row per *measured* panel gene, most important first, columns
    ``gene, attribution`` (signed, AUC units), ``importance`` (absolute value) and ``direction``
    (``resistance`` / ``sensitivity``).
    """
    if len(expression) != 1:
        raise ValueError(f"expression must hold one organoid, got {len(expression)} rows")
    index = _drug_index(bundle, drug)
    attributions = np.mean([_member_attributions(m, expression, index, steps)[0] for m in bundle.members], axis=0)
    table = top_genes(attributions, bundle.genes, k=None)
    measured = table["gene"].isin([g for g in expression.columns if expression[g].notna().all()])
    table = table[measured].reset_index(drop=True)
    return table.rename(columns={"signed": "attribution"})[COLUMNS]


def drug_attributions(bundle: ModelBundle, expression: pd.DataFrame, drug: str,
                      steps: int = DEFAULT_STEPS) -> pd.DataFrame:
    """``organoid_attributions`` under the name the dashboard brief used."""
    return organoid_attributions(bundle, expression, drug, steps)


def reference_attributions(bundle: ModelBundle, expression: pd.DataFrame, drug: str,
                           steps: int = DEFAULT_STEPS) -> pd.DataFrame:
    """Gene ranking of the reference cohort for ``drug``: each organoid of the bundle's cross-validation
    is explained by its out-of-fold member (the model behind its reference prediction).

    ``expression`` is the target cohort's expression (organoids without a fold are ignored). Columns as
    :func:`organoid_attributions`, with ``attribution`` the mean signed attribution per organoid and
    ``importance`` the mean absolute attribution per organoid (genes ranked by it, as in
    :mod:`core.explain.gene_ranking`), plus ``n_organoids``.
    """
    index = _drug_index(bundle, drug)
    folds = pd.Series(bundle.manifest["cross_validation"]["folds"], dtype=int)
    folds = folds[folds.index.isin(expression.index)]
    if folds.empty:
        raise ValueError(f"None of the organoids of bundle {bundle.name}'s cross-validation are in the expression given")
    rows = []
    for fold, samples in folds.groupby(folds).groups.items():
        rows.append(_member_attributions(bundle.members[int(fold)], expression.loc[list(samples)], index, steps))
    stacked = np.concatenate(rows)
    table = top_genes(stacked, bundle.genes, k=None)
    table["importance"] /= len(stacked)
    table["signed"] /= len(stacked)
    table["n_organoids"] = len(stacked)
    return table.rename(columns={"signed": "attribution"})[[*COLUMNS, "n_organoids"]]


def pathway_enrichment(ranking: pd.DataFrame, bundle: ModelBundle, collection: str, top_k: int = TOP_K,
                       max_adjusted_p: float = PAPER_MAX_ADJUSTED_P,
                       min_overlap: int = PAPER_MIN_OVERLAP) -> pd.DataFrame:
    """ORA of the ``top_k`` genes of ``ranking`` (as returned above) against the bundle's panel."""
    genes: Sequence[str] = list(ranking["gene"].head(top_k))
    return over_representation(genes, bundle.genes, collection, max_adjusted_p, min_overlap)
