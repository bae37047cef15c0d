"""Gene rankings and pathways as the pages show them: precomputed beside the reference bundles where built,
computed and cached per process for reference bundles otherwise, and per session for the session's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.config import models_dir
from core.usecases.bundle_grid import reference_cohort
from core.usecases.stored_explanations import GENES_SHOWN, stored_gene_ranking, stored_ranked_pathways
from dashboard.bundles import bundle, bundle_reference_expression, load_from_disk, manifest_stamp, reference_expression
from dashboard.session import is_session_bundle, sample_expression, session_cached, session_cached_many

if TYPE_CHECKING:  # imported where used: TensorFlow-free pages need not load the explanation code
    from core.explain.precomputed import ReferenceExplanations


@st.cache_data(show_spinner=False, max_entries=64)
def _reference_genes(folder: str, stamp: float, drug: str, view: str) -> pd.DataFrame:
    from core.explain.bundle_attributions import reference_attributions

    b = load_from_disk(folder, stamp)
    return reference_attributions(b, reference_expression(reference_cohort(b.manifest)), drug, view)


@st.cache_data(show_spinner=False, max_entries=16)
def precomputed_explanations(
    models: str, bundle_name: str, stamp: float, explanation_stamp: float
) -> ReferenceExplanations | None:
    """Reference explanations written at build time (``core.explain.precomputed``), if present and current. Keyed by
    the models folder too: a copy of the bundles elsewhere keeps the files' times, not necessarily their contents."""
    from core.explain.precomputed import load_reference_explanations

    return load_reference_explanations(Path(models), bundle_name)


def reference_explanations(bundle_name: str) -> ReferenceExplanations | None:
    """The precomputed ``ReferenceExplanations`` of a reference bundle, or None (session bundle, or not built)."""
    return None if is_session_bundle(bundle_name) else stored_explanations(bundle_name)


def stored_explanations(bundle_name: str) -> ReferenceExplanations | None:
    """The explanations stored beside the reference bundle ``bundle_name``, read once per process; None if not built."""
    from core.explain.precomputed import explanation_dir

    explanation = explanation_dir(models_dir(), bundle_name) / "manifest.json"
    return precomputed_explanations(
        str(models_dir()),
        bundle_name,
        manifest_stamp(models_dir() / bundle_name),
        explanation.stat().st_mtime if explanation.is_file() else 0.0,
    )


def reference_genes(bundle_name: str, drug: str, view: str, rows: int = GENES_SHOWN) -> pd.DataFrame | None:
    """Gene ranking of the reference cohort for ``drug`` in attribution ``view``; None for a session bundle
    loaded from a file (its cohort's expression is not part of the bundle).

    Reference bundles (public data: cached for every session) use the rankings precomputed beside them when
    they hold at least ``rows`` genes of the drug, else compute them (seconds to a minute per drug). Session
    bundles are explained on the session's own cohort, cached in this session only."""
    if is_session_bundle(bundle_name):
        from core.explain.bundle_attributions import reference_attributions

        expression = bundle_reference_expression(bundle_name)
        if expression is None:
            return None
        b = bundle(bundle_name)
        return session_cached(
            ("reference_genes", bundle_name, drug, view), lambda: reference_attributions(b, expression, drug, view)
        )
    stored = stored_gene_ranking(reference_explanations(bundle_name), drug, view, rows)
    if stored is not None:
        return stored
    folder = models_dir() / bundle_name
    return _reference_genes(str(folder), manifest_stamp(folder), drug, view)


def organoid_genes(bundle_name: str, sample: str, drug: str, view: str) -> pd.DataFrame:
    """Gene ranking of the session's organoid ``sample`` for ``drug`` (cached in this session only)."""
    return organoid_genes_of(bundle_name, sample, [drug], view)[drug]


def organoid_genes_of(bundle_name: str, sample: str, drugs: list[str], view: str) -> dict[str, pd.DataFrame]:
    """:func:`organoid_genes` of several drugs (the report's): those not yet computed in this session are computed
    in one pass, whose drug view shares the mean over drugs (measured: 4 drugs in 6.9 s, one alone 3.7-5.2 s, at
    load 8), and kept per drug, so the genes page later shows the report's numbers for any of them."""
    from core.explain.bundle_attributions import VIEWS, organoid_attribution_rows, ranked_genes

    b = bundle(bundle_name)
    expression = sample_expression(sample)

    def attributions(keys: list[tuple]) -> dict[tuple, pd.Series]:
        references = bundle_reference_expression(bundle_name) if VIEWS[view].needs_references else None
        rows = organoid_attribution_rows(b, expression, view, references, [key[-1] for key in keys])
        return {key: rows.loc[key[-1]] for key in keys}

    found = session_cached_many(
        [("organoid_attributions", bundle_name, sample, view, drug) for drug in drugs], attributions
    )
    return {key[-1]: ranked_genes(values, expression) for key, values in found.items()}


def _cohort_importance(bundle_name: str) -> pd.DataFrame | None:
    """Drugs x genes importance of the reference cohort in the default view: precomputed for reference bundles,
    computed once per session for a session bundle with its cohort's expression; else None."""
    from core.explain.bundle_attributions import cohort_importance

    precomputed = reference_explanations(bundle_name)
    if precomputed is not None:
        return precomputed.importance
    expression = bundle_reference_expression(bundle_name) if is_session_bundle(bundle_name) else None
    if expression is None:
        return None
    b = bundle(bundle_name)
    return session_cached(("cohort_importance", bundle_name), lambda: cohort_importance(b, expression))


def ranked_pathways(bundle_name: str, drug: str, view: str, collection: str, sample: str | None) -> pd.DataFrame | None:
    """GSEA preranked for ``drug``: of the organoid ``sample``'s signed attributions, or (``sample`` None) of the
    reference cohort's importance relative to each gene's mean over drugs (default view only: it needs every
    drug; precomputed where built). None where the cohort's importance is not at hand."""
    from core.explain.bundle_attributions import DEFAULT_VIEW
    from core.explain.enrichment import ranked_enrichment
    from core.explain.precomputed import relative_importance

    if sample is not None:
        genes = organoid_genes(bundle_name, sample, drug, view)
        return session_cached(
            ("ranked", bundle_name, sample, drug, view, collection),
            lambda: ranked_enrichment(genes.set_index("gene")["attribution"], collection),
        )
    if view != DEFAULT_VIEW:
        return None
    stored = stored_ranked_pathways(reference_explanations(bundle_name), drug, collection)
    if stored is not None:
        return stored
    importance = _cohort_importance(bundle_name)
    if importance is None:
        return None
    return session_cached(
        ("ranked_reference", bundle_name, drug, collection),
        lambda: ranked_enrichment(relative_importance(importance).loc[drug], collection),
    )
