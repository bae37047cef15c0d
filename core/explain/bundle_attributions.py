"""Gene attributions of a whole bundle, one drug (or all drugs) at a time: for an uploaded organoid (every
fold model, averaged, as predictions are) or for the reference cohort (each organoid explained by the fold
model that never saw it, as its reference prediction was made).

Three views answer three questions (``VIEWS``):

- ``patient`` - why is this organoid predicted differently from the reference organoids *for this drug*?
  Expected gradients with the reference organoids as baselines: the attributions add up to the organoid's
  prediction minus the mean prediction of the reference organoids for the same drug, the quantity a
  per-drug z-score reports.
- ``drug`` - what is specific to this drug? The patient view minus its mean over the bundle's drugs, so a
  gene that moves every drug's prediction alike (the organoid's general sensitivity) drops out. They add up
  to the organoid's deviation for this drug minus its average deviation over drugs.
- ``absolute`` - the paper's view: integrated gradients from the all-average (all-zeros) input; they add up
  to the prediction minus the prediction for an organoid at average expression of every gene. Measured on
  the shipped bundles, these rankings are nearly the same for every drug (they explain the organoid).

Attributions are converted from the model's scaled output back to response units (AUC): an attribution
times ``maximum - minimum`` of the member's target scaler. Positive = pushes the predicted AUC up = towards
resistance; negative = towards sensitivity. Genes an upload lacks are fed at the reference mean (see
:meth:`ExpressionPreprocessor.transform`); they were not measured, so they are left out of the organoid's
ranking rather than presented as drivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.explain.enrichment import PAPER_MAX_ADJUSTED_P, PAPER_MIN_OVERLAP, over_representation
from core.explain.gene_ranking import TOP_GENES_TESTED, top_genes
from core.explain.integrated_gradients import (
    DEFAULT_STEPS,
    DEFAULT_STEPS_PER_REFERENCE,
    drug_weighted_expected_gradients,
    expected_gradients,
    integrated_gradients,
    pair_grid,
)
from core.inference.bundle import BundleMember, ModelBundle

COLUMNS = ["gene", "attribution", "importance", "direction"]


@dataclass(frozen=True)
class AttributionView:
    """One way of splitting a prediction into gene contributions, with the words the app shows for it."""

    name: str
    label: str
    adds_up_to: str
    needs_all_drugs: bool = False
    needs_references: bool = True

    def sentence(self) -> str:
        """What the view's numbers are, in one sentence (the report's note over each drug's genes)."""
        return f"{self.label}: they split {self.adds_up_to}."


VIEWS: dict[str, AttributionView] = {
    view.name: view
    for view in (
        AttributionView(
            "drug",
            "Drug-specific",
            "this organoid's predicted deviation from the reference organoids for this drug, minus its "
            "average deviation over all drugs",
            needs_all_drugs=True,
        ),
        AttributionView(
            "patient",
            "Patient-specific",
            "this organoid's prediction minus the mean prediction of the reference organoids, " "for this drug",
        ),
        AttributionView(
            "absolute",
            "Absolute (as in the paper)",
            "the prediction minus the prediction for an organoid at average expression of every gene",
            needs_references=False,
        ),
    )
}
DEFAULT_VIEW = "drug"


def _view(name: str) -> AttributionView:
    try:
        return VIEWS[name]
    except KeyError:
        raise ValueError(f"Unknown attribution view {name!r}; choose one of {sorted(VIEWS)}") from None


def drug_index(bundle: ModelBundle, drug: str) -> int:
    drugs = list(bundle.drugs["drug"])
    if drug not in drugs:
        raise KeyError(f"{drug!r} is not one of the {len(drugs)} drugs of bundle {bundle.name}")
    return drugs.index(drug)


def _member_inputs(
    member: BundleMember, expression: pd.DataFrame, references: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The member's gene inputs of ``expression`` and of ``references`` (None stays None)."""
    trained = member.trained
    genes = trained.expression.transform(expression, trained.domain, allow_missing=True)
    if references is None:
        return genes, None
    return genes, trained.expression.transform(references, trained.domain, allow_missing=True)


def _in_response_units(member: BundleMember, scaled: np.ndarray) -> np.ndarray:
    """Attributions of the member's scaled output in response units (its target scaler is min-max)."""
    return scaled * (member.trained.target.maximum - member.trained.target.minimum)


def member_attributions(
    member: BundleMember, expression: pd.DataFrame, drug_indices: Sequence[int], references: pd.DataFrame | None
) -> np.ndarray:
    """(samples, drugs, panel genes) attributions of one member, in response units.

    ``references`` (expression of the reference organoids) gives expected gradients against them; None gives
    integrated gradients from the all-zeros input (the paper's baseline)."""
    model = member.trained.model
    genes, baselines = _member_inputs(member, expression, references)
    inputs = pair_grid(genes, {member.trained.drugs.input_name: member.drug_inputs[list(drug_indices)]})
    if baselines is None:
        scaled = integrated_gradients(model, inputs, steps=DEFAULT_STEPS)
    else:
        scaled = expected_gradients(model, inputs, baselines, steps=DEFAULT_STEPS_PER_REFERENCE)
    return _in_response_units(member, scaled.reshape(len(genes), len(drug_indices), -1))


def mean_importance(attributions: np.ndarray, drugs: Sequence[str], genes: Sequence[str]) -> pd.DataFrame:
    """Drugs x genes mean absolute attribution over the samples of ``attributions`` (samples, drugs, genes)."""
    return pd.DataFrame(np.abs(attributions).mean(axis=0), index=list(drugs), columns=list(genes))


def contrast_over_drugs(attributions: np.ndarray) -> np.ndarray:
    """Attributions (samples, drugs, genes) minus each sample's mean over the drugs: the drug-specific part."""
    return attributions - attributions.mean(axis=1, keepdims=True)


def _cv_folds(bundle: ModelBundle) -> dict[str, int]:
    """Reference organoid -> the fold that held it out; a clear error for a bundle built without cross-validation
    (a panel or pre-trained bundle), which has no reference cohort to explain against."""
    if bundle.manifest.cross_validation is None:
        raise ValueError(
            f"Bundle {bundle.name} was built without cross-validation, so it has no reference organoids: only the "
            "absolute view of one organoid can be explained with it."
        )
    return bundle.manifest.cross_validation.folds


def _reference_rows(bundle: ModelBundle, expression: pd.DataFrame) -> pd.DataFrame:
    """Expression of the bundle's reference organoids (those of its cross-validation found in ``expression``)."""
    return expression.loc[expression.index.intersection(list(_cv_folds(bundle)))]


def member_drug_weighted(
    member: BundleMember, expression: pd.DataFrame, references: pd.DataFrame, weights: np.ndarray
) -> np.ndarray:
    """(samples, panel genes) expected gradients of each sample's ``weights``-weighted sum of predictions over
    every drug of the member (:func:`drug_weighted_expected_gradients`), in response units."""
    genes, baselines = _member_inputs(member, expression, references)
    drug_rows = {member.trained.drugs.input_name: member.drug_inputs}
    weighted = [
        drug_weighted_expected_gradients(member.trained.model, sample, drug_rows, baselines, weights)
        for sample in genes
    ]
    return _in_response_units(member, np.asarray(weighted))


def drug_contrast_weights(n_drugs: int, drug: int | None = None) -> np.ndarray:
    """Weights over drugs of the drug view's mean over drugs (negative), plus one for ``drug`` if given: the
    weighted sum of predictions whose expected gradients are that drug's drug-specific attributions."""
    weights = np.full(n_drugs, -1.0 / n_drugs)
    if drug is not None:
        weights[drug] += 1.0
    return weights


def _view_attributions(
    member: BundleMember,
    expression: pd.DataFrame,
    drugs: Sequence[int],
    view: AttributionView,
    references: pd.DataFrame | None,
) -> np.ndarray:
    """(samples, drugs, panel genes) attributions of one member for the drug indices ``drugs`` in ``view``."""
    if view.needs_references and references is None:
        raise ValueError(f"The {view.label.lower()} view needs the reference organoids' expression")
    baselines = references if view.needs_references else None
    drugs = list(drugs)
    n_drugs = len(member.drug_inputs)
    if not view.needs_all_drugs:
        return member_attributions(member, expression, drugs, baselines)
    if len(set(drugs)) == n_drugs:  # every drug explained anyway: their mean comes free
        every_drug = member_attributions(member, expression, range(n_drugs), baselines)
        return contrast_over_drugs(every_drug)[:, drugs]
    if len(drugs) == 1:  # one pass over the drugs gives the drug's contrast directly
        return member_drug_weighted(member, expression, baselines, drug_contrast_weights(n_drugs, drugs[0]))[:, None]
    patient = member_attributions(member, expression, drugs, baselines)
    return patient + member_drug_weighted(member, expression, baselines, drug_contrast_weights(n_drugs))[:, None, :]


def organoid_attribution_rows(
    bundle: ModelBundle,
    expression: pd.DataFrame,
    view: str = DEFAULT_VIEW,
    references: pd.DataFrame | None = None,
    drugs: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One organoid's attributions (drugs x panel genes, response units), mean over the bundle's members, for
    ``drugs`` (default: all). ``references`` is the reference organoids' expression, needed by every view but
    ``absolute``. The drug view's mean over drugs costs about one drug's attributions (see
    :func:`member_drug_weighted`), so callers ask for the drugs they show."""
    if len(expression) != 1:
        raise ValueError(f"expression must hold one organoid, got {len(expression)} rows")
    names = list(bundle.drugs["drug"]) if drugs is None else list(drugs)
    indices = [drug_index(bundle, drug) for drug in names]
    chosen = _view(view)
    baselines = None if references is None else _reference_rows(bundle, references)
    mean = np.mean([_view_attributions(m, expression, indices, chosen, baselines)[0] for m in bundle.members], axis=0)
    return pd.DataFrame(mean, index=names, columns=bundle.genes)


def ranked_genes(attributions: pd.Series, expression: pd.DataFrame) -> pd.DataFrame:
    """One organoid's attributions for one drug (gene -> value) as a ranking of its *measured* panel genes, most
    important first: ``gene, attribution`` (signed), ``importance`` (absolute value), ``direction``."""
    table = top_genes(attributions.to_numpy(), list(attributions.index), k=None)
    measured = table["gene"].isin(expression.columns[expression.notna().all().to_numpy()])
    return table[measured].reset_index(drop=True).rename(columns={"signed": "attribution"})[COLUMNS]


def organoid_attributions(
    bundle: ModelBundle,
    expression: pd.DataFrame,
    drug: str,
    view: str = DEFAULT_VIEW,
    references: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`ranked_genes` of one organoid (``expression``: one row, genes as columns, log2) for ``drug``."""
    rows = organoid_attribution_rows(bundle, expression, view, references, [drug])
    return ranked_genes(rows.loc[drug], expression)


def out_of_fold_groups(bundle: ModelBundle, expression: pd.DataFrame) -> dict[int, list[str]]:
    """Member index -> the organoids of ``expression`` it never saw in training (the bundle's CV folds)."""
    folds = pd.Series(_cv_folds(bundle), dtype=int)
    folds = folds[folds.index.isin(expression.index)]
    if folds.empty:
        raise ValueError(
            f"None of the organoids of bundle {bundle.name}'s cross-validation are in the expression given"
        )
    return {int(fold): list(samples) for fold, samples in folds.groupby(folds).groups.items()}


def reference_cohort_attributions(
    bundle: ModelBundle, expression: pd.DataFrame, view: str = DEFAULT_VIEW, drugs: Sequence[int] | None = None
) -> tuple[list[str], np.ndarray]:
    """(organoids, attributions (organoids, drugs, panel genes)) of the reference cohort for the drug indices
    ``drugs`` (default: all), each organoid explained by its out-of-fold member, baselines the whole cohort
    (views that need them)."""
    chosen = _view(view)
    baselines = _reference_rows(bundle, expression) if chosen.needs_references else None
    indices = range(len(bundle.drugs)) if drugs is None else drugs
    samples, blocks = [], []
    for fold, members in out_of_fold_groups(bundle, expression).items():
        blocks.append(_view_attributions(bundle.members[fold], expression.loc[members], indices, chosen, baselines))
        samples += members
    return samples, np.concatenate(blocks)


def cohort_importance(bundle: ModelBundle, expression: pd.DataFrame, view: str = DEFAULT_VIEW) -> pd.DataFrame:
    """Drugs x genes mean absolute attribution over the bundle's reference cohort (each organoid explained by
    its out-of-fold member): what the cohort-level gene rankings and the pathway prerank read."""
    _, attributions = reference_cohort_attributions(bundle, expression, view)
    return mean_importance(attributions, bundle.drugs["drug"], bundle.genes)


def cohort_ranking(attributions: np.ndarray, genes: Sequence[str]) -> pd.DataFrame:
    """Gene ranking of a cohort's attributions (organoids, genes) for one drug: ``attribution`` the mean signed
    attribution per organoid, ``importance`` the mean absolute one (genes ranked by it, see
    :mod:`core.explain.gene_ranking`), plus ``n_organoids``."""
    table = top_genes(attributions, genes, k=None)
    table["importance"] /= len(attributions)
    table["signed"] /= len(attributions)
    table["n_organoids"] = len(attributions)
    return table.rename(columns={"signed": "attribution"})[[*COLUMNS, "n_organoids"]]


def reference_attributions(
    bundle: ModelBundle, expression: pd.DataFrame, drug: str, view: str = DEFAULT_VIEW
) -> pd.DataFrame:
    """Gene ranking of the reference cohort for ``drug`` (:func:`cohort_ranking`); ``expression`` is the target
    cohort's expression (organoids without a fold are ignored)."""
    _, attributions = reference_cohort_attributions(bundle, expression, view, [drug_index(bundle, drug)])
    return cohort_ranking(attributions[:, 0], bundle.genes)


def pathway_enrichment(
    ranking: pd.DataFrame,
    bundle: ModelBundle,
    collection: str,
    top_k: int = TOP_GENES_TESTED,
    max_adjusted_p: float = PAPER_MAX_ADJUSTED_P,
    min_overlap: int = PAPER_MIN_OVERLAP,
) -> pd.DataFrame:
    """ORA of the ``top_k`` genes of ``ranking`` (as returned above) against the bundle's panel."""
    genes: Sequence[str] = list(ranking["gene"].head(top_k))
    return over_representation(genes, bundle.genes, collection, max_adjusted_p, min_overlap)
