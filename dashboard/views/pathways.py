"""Pathways: which pathways a drug's attributed genes fall in, by ranked enrichment of the whole panel (default)
or by over-representation of the top genes (the paper's test)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core.explain.bundle_attributions import DEFAULT_VIEW, VIEWS, pathway_enrichment
from core.explain.enrichment import (
    COLLECTIONS,
    GSEA_MAX_FDR,
    PAPER_MAX_ADJUSTED_P,
    PAPER_MIN_OVERLAP,
    PRERANK_MAX_SIZE,
    PRERANK_MIN_SIZE,
    PRERANK_PERMUTATIONS,
    ranked_sets,
)
from core.explain.gene_ranking import TOP_GENES_TESTED
from core.inference.bundle import ModelBundle
from dashboard.bundles import n_reference
from dashboard.explanations import organoid_genes, ranked_pathways, reference_genes
from dashboard.session import current_sample, has_reference_expression, session_cached
from dashboard.widgets import DOWNLOAD_ONLY, choose_view, csv_bytes, download_name, model_drug_controls

P_THRESHOLDS = [0.001, 0.01, 0.05, 0.1, 0.25, 1.0]
NO_FILTER = 1.0  # the last option: every tested pathway with a hit, whatever its p
RESTRICTED = {"KEGG", "ConsensusPathDB"}
METHODS = {
    "ranked": "Ranked enrichment of every panel gene (GSEA preranked)",
    "ora": "Over-representation of the top genes (the paper's test)",
}
SHOWN = 20
FDR_DIGITS = 3  # the table shows FDR q to 3 decimals


@dataclass(frozen=True)
class Choice:
    """What the page was asked: bundle, drug, pathway collection and whose genes (``source``, as shown)."""

    b: ModelBundle
    drug: str
    collection: str
    source: str


def padded_range(values: pd.Series, include_zero: bool = True) -> list[float]:
    """An axis range that holds every value with a margin, from 0 where asked (no zoom onto a sliver)."""
    low = min(float(values.min()), 0.0) if include_zero else float(values.min())
    high = max(float(values.max()), 0.0) if include_zero else float(values.max())
    margin = max(0.1 * (high - low), 0.05 * max(abs(low), abs(high), 1.0))
    return [low - margin if low < 0 else low, high + margin]


def passes_fdr(fdr: pd.Series) -> pd.Series:
    """Pathways at FDR q < :data:`GSEA_MAX_FDR` as the table shows q: a q of 0.2496 reads 0.250 there, so it is
    not counted as passing "FDR < 0.25"."""
    return fdr.round(FDR_DIGITS) < GSEA_MAX_FDR


def show_table(table: pd.DataFrame, key: str, columns: dict, download_label: str, file_name: str) -> None:
    """A result table (pathway name and panel genes first) and its CSV download."""
    st.dataframe(
        table,
        hide_index=True,
        key=f"{key}_table",
        column_config={
            "term": st.column_config.TextColumn("pathway", width=300),
            "set_size": st.column_config.NumberColumn(
                "panel genes", width=90, help="Genes of the pathway in the model's panel"
            ),
            **columns,
        },
    )
    st.download_button(
        download_label,
        csv_bytes(table),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_download",
        on_click=DOWNLOAD_ONLY,
    )


def show_ranked(result: pd.DataFrame | None, organoid: bool, c: Choice, n_tested: int) -> None:
    """Plain verdict, NES bars of the strongest pathways (passing ones coloured), and the table."""
    if result is None:
        st.info(
            "Ranked enrichment of the reference cohort compares each gene's importance for this drug with its "
            f"importance for the other drugs, which needs every drug's attributions: it is available in the "
            f"{VIEWS[DEFAULT_VIEW].label.lower()} view. Pick that view, an organoid, or the over-representation test."
        )
        return
    passing = result[passes_fdr(result["fdr"])]
    if result.empty:
        st.info(
            f"No {c.collection} pathway has {PRERANK_MIN_SIZE} to {PRERANK_MAX_SIZE} genes in this model's panel, "
            "so none could be tested."
        )
        return
    best = result.sort_values("fdr").iloc[0]
    if passing.empty:
        st.info(
            f"**No {c.collection} pathway reaches FDR < {GSEA_MAX_FDR:g}** for {c.drug} ({n_tested} tested; the "
            f"closest is *{best['term']}* at FDR {best['fdr']:.3f}). The attributions do not concentrate in any "
            "pathway of this collection more than chance placements of its genes would. Below: the strongest "
            "effects, to read as hypotheses, not findings."
        )
    else:
        st.success(f"{len(passing)} {c.collection} pathway(s) at FDR < {GSEA_MAX_FDR:g} (GSEA's bar for exploration).")
    shown = result.head(SHOWN).assign(
        passes=lambda t: np.where(passes_fdr(t["fdr"]), f"FDR < {GSEA_MAX_FDR:g}", "not significant")
    )
    figure = px.bar(
        shown.iloc[::-1],
        x="nes",
        y="term",
        color="passes",
        orientation="h",
        color_discrete_map={f"FDR < {GSEA_MAX_FDR:g}": "#1b7837", "not significant": "#bbbbbb"},
        hover_data={"set_size": True, "p_value": ":.3f", "fdr": ":.3f", "leading_genes": True},
        labels={"nes": "normalised enrichment score", "term": "", "passes": ""},
        title=f"{c.drug}: the {len(shown)} {c.collection} pathways with the smallest p ({c.source})",
    )
    figure.update_layout(height=max(320, 26 * len(shown) + 160), margin={"l": 10})
    figure.update_xaxes(range=padded_range(shown["nes"]))
    st.plotly_chart(figure, key="pathways_ranked_chart")
    st.caption(
        "NES > 0: the pathway's genes "
        + (
            "push this organoid's prediction toward resistance"
            if organoid
            else "matter more for this drug than for the average drug"
        )
        + "; NES < 0: "
        + ("toward sensitivity." if organoid else "they matter less for this drug than for the others.")
    )
    show_table(
        result,
        "pathways_ranked",
        {
            "nes": st.column_config.NumberColumn("NES", format="%.2f", width=60),
            "p_value": st.column_config.NumberColumn("p", format="%.3f", width=60),
            "fdr": st.column_config.NumberColumn("FDR q", format="%.3f", width=60),
            "leading_genes": st.column_config.TextColumn("leading-edge genes", width="large"),
        },
        "Download ranked enrichment (CSV)",
        download_name(c.b.name, c.drug, c.collection, "ranked", suffix=".csv"),
    )
    if len(result) < n_tested:
        st.caption(f"The {len(result)} of {n_tested} tested pathways with the smallest p (precomputed at build time).")


def ora_controls(b: ModelBundle) -> tuple[int, float, int]:
    """Top genes tested, adjusted-p bar (1 = no filter) and minimum overlap."""
    left, middle, right = st.columns(3)
    top_k = left.number_input(
        "Top genes tested",
        min_value=10,
        max_value=len(b.genes),
        value=min(TOP_GENES_TESTED, len(b.genes)),
        step=10,
        key="pathways_top_k",
        help=f"The paper tested each drug's top {TOP_GENES_TESTED} genes; the panel holds {len(b.genes)}.",
    )
    max_p = middle.select_slider(
        "Adjusted p below",
        P_THRESHOLDS,
        value=PAPER_MAX_ADJUSTED_P,
        key="pathways_max_p",
        format_func=lambda p: "no filter" if p == NO_FILTER else f"{p:g}",
        help="Benjamini-Hochberg over every tested pathway. The paper used 0.001.",
    )
    min_overlap = right.number_input(
        "At least this many top genes in the pathway",
        min_value=1,
        max_value=100,
        value=PAPER_MIN_OVERLAP,
        step=1,
        key="pathways_min_overlap",
        help="The paper required 10.",
    )
    return int(top_k), float(max_p), int(min_overlap)


def show_ora(result: pd.DataFrame, top_k: int, max_p: float, min_overlap: int, c: Choice) -> None:
    """ORA result: a plain verdict; with no filter, effect sizes (odds ratios) rather than a success box."""
    bar = f"at least {min_overlap} of the top {top_k} genes in the pathway"
    if result.empty:
        p_label = "any adjusted p" if max_p == NO_FILTER else f"adjusted p < {max_p:g}"
        st.info(
            f"**No {c.collection} pathway passes** ({p_label}, {bar}). With a {len(c.b.genes)}-gene panel the top "
            f"{top_k} genes are {top_k / len(c.b.genes):.0%} of the background, so over-representation can hardly "
            "reach significance: try the ranked enrichment above, or relax the thresholds."
        )
        return
    significant = result["adjusted_p"] < (PAPER_MAX_ADJUSTED_P if max_p == NO_FILTER else max_p)
    if max_p == NO_FILTER:
        st.info(
            f"No filter: every {c.collection} pathway with a hit ({len(result)}), {bar}; "
            f"{int((result['adjusted_p'] < 0.05).sum())} at adjusted p < 0.05. Read the odds ratios as effect "
            "sizes, not as findings."
        )
    else:
        st.success(f"{int(significant.sum())} {c.collection} pathway(s) pass: adjusted p < {max_p:g}, {bar}.")
    shown = result.head(SHOWN).assign(minus_log10_adjusted_p=lambda t: -np.log10(t["adjusted_p"].clip(lower=1e-300)))
    x = "odds_ratio" if max_p == NO_FILTER else "minus_log10_adjusted_p"
    figure = px.scatter(
        shown.iloc[::-1],
        x=x,
        y="term",
        size="overlap",
        color="adjusted_p",
        color_continuous_scale="Viridis_r",
        range_color=[0, 1],
        hover_data={"set_size": True, "adjusted_p": ":.2e", "genes": True},
        labels={
            "minus_log10_adjusted_p": "-log10 adjusted p",
            "odds_ratio": "odds ratio (effect size)",
            "term": "",
            "adjusted_p": "adjusted p",
        },
        title=f"{c.drug}: {c.collection} pathways among the top {top_k} genes ({c.source})",
    )
    figure.update_layout(height=max(320, 28 * len(shown) + 140), margin={"l": 10})
    figure.update_xaxes(range=padded_range(shown[x]))
    st.plotly_chart(figure, key="pathways_dotplot")
    table = result.assign(genes=result["genes"].str.replace(";", ", "))
    show_table(
        table,
        "pathways",
        {
            "overlap": st.column_config.NumberColumn(
                "in top genes", width=95, help="How many of this drug's top genes lie in the pathway"
            ),
            "p_value": st.column_config.NumberColumn("p", format="%.2e", width=70),
            "adjusted_p": st.column_config.NumberColumn("adjusted p", format="%.2e", width=80),
            "odds_ratio": st.column_config.NumberColumn("odds ratio", format="%.1f", width=70),
            "genes": st.column_config.TextColumn("top genes in the pathway", width="large"),
        },
        "Download pathways (CSV)",
        download_name(c.b.name, c.drug, c.collection, "pathways", suffix=".csv"),
    )


st.title("Pathways")
b, drug = model_drug_controls("pathways")
sample = current_sample()
sources = ([f"organoid {sample}"] if sample else []) + (
    [f"reference cohort ({n_reference(b)} organoids)"] if has_reference_expression(b.name) else []
)
if not sources:
    st.info(
        "This bundle was loaded from a file, without its cohort's expression: upload an organoid profile on "
        "*Upload & QC* to test the pathways of its genes."
    )
    st.stop()
left, middle, right = st.columns([1, 2, 1])
source = left.radio("Genes of", sources, key="pathways_source")
view = choose_view(b.name, "pathways_view", middle)
collection = right.selectbox("Pathway collection", list(COLLECTIONS), key="pathways_collection")
method = st.radio("Test", list(METHODS), format_func=METHODS.get, horizontal=True, key="pathways_method")
licence = COLLECTIONS[collection].licence
if collection in RESTRICTED:
    st.warning(f"Licence: {licence}.")
else:
    st.caption(f"Licence: {licence}.")
organoid = source.startswith("organoid") and sample is not None
choice = Choice(b, drug, collection, source)

if method == "ranked":
    scored = (
        "signed attribution" if organoid else "importance relative to its mean importance over all drugs (log2 ratio)"
    )
    st.markdown(
        f"GSEA preranked of **every** panel gene's {scored} for **{drug}** "
        f"({len(b.genes)} genes, the model's panel as background; pathways cut to the panel, {PRERANK_MIN_SIZE} to "
        f"{PRERANK_MAX_SIZE} genes; {PRERANK_PERMUTATIONS} gene-set permutations). A pathway passes at FDR q < "
        f"{GSEA_MAX_FDR:g}, the conventional bar for exploratory GSEA (Subramanian et al. 2005)."
    )
    with st.spinner(f"Ranked enrichment of {drug} in {collection} (a few seconds)..."):
        scored_genes = organoid_genes(b.name, sample, drug, view)["gene"] if organoid else b.genes
        show_ranked(
            ranked_pathways(b.name, drug, view, collection, sample if organoid else None),
            organoid,
            choice,
            len(ranked_sets(collection, scored_genes)),
        )
else:
    top_k, max_p, min_overlap = ora_controls(b)
    st.markdown(
        f"Fisher's exact test (one-sided) of the top {top_k} genes of **{drug}** against the model's "
        f"{len(b.genes)}-gene panel as background (only panel genes can be ranked), pathways cut to the panel. "
        f"The paper's thresholds are adjusted p < {PAPER_MAX_ADJUSTED_P} and at least {PAPER_MIN_OVERLAP} genes."
    )
    # Adjusted p-values reach exactly 1, so "no filter" must let p = 1 through.
    p_limit = float(np.nextafter(1.0, 2.0)) if max_p == NO_FILTER else max_p
    with st.spinner(f"Ranking genes for {drug} and testing {collection} pathways..."):
        if organoid:
            ranking = organoid_genes(b.name, sample, drug, view)
            result = session_cached(
                ("ora", b.name, sample, drug, view, collection, top_k, p_limit, min_overlap),
                lambda: pathway_enrichment(ranking, b, collection, top_k, p_limit, min_overlap),
            )
        else:
            ranking = reference_genes(b.name, drug, view, rows=top_k)
            result = pathway_enrichment(ranking, b, collection, top_k, p_limit, min_overlap)
    show_ora(result, top_k, max_p, min_overlap, choice)
