"""Pathways: over-representation of a drug's top attributed genes in a pathway collection."""
from __future__ import annotations

import numpy as np
import plotly.express as px
import streamlit as st

from core.explain.dashboard_api import pathway_enrichment
from core.explain.enrichment import COLLECTIONS, PAPER_MAX_ADJUSTED_P, PAPER_MIN_OVERLAP
from core.explain.gene_ranking import TOP_K
from dashboard.common import (
    csv_bytes,
    current_sample,
    has_reference_expression,
    model_drug_controls,
    n_reference,
    organoid_genes,
    reference_genes,
    session_cached,
)

P_THRESHOLDS = [0.001, 0.01, 0.05, 0.1, 0.25, 1.0]
NO_FILTER = 1.0  # the last option: every tested pathway with a hit, whatever its p
RESTRICTED = {"KEGG", "ConsensusPathDB"}

st.title("Pathways")
b, drug = model_drug_controls("pathways")
sample = current_sample()
sources = (([f"organoid {sample}"] if sample else [])
           + ([f"reference cohort ({n_reference(b)} organoids)"] if has_reference_expression(b.name) else []))
if not sources:
    st.info("This bundle was loaded from a file, without its cohort's expression: upload an organoid profile on "
            "*Upload & QC* to test the pathways of its genes.")
    st.stop()
left, middle, right = st.columns(3)
source = left.radio("Genes of", sources, key="pathways_source")
collection = middle.selectbox("Pathway collection", list(COLLECTIONS), key="pathways_collection")
top_k = right.number_input("Top genes tested", min_value=10, max_value=len(b.genes), value=min(TOP_K, len(b.genes)),
                           step=10, key="pathways_top_k",
                           help=f"The paper tested each drug's top {TOP_K} genes; the panel holds {len(b.genes)}.")
left, middle, _ = st.columns(3)
max_p = left.select_slider("Adjusted p below", P_THRESHOLDS, value=PAPER_MAX_ADJUSTED_P, key="pathways_max_p",
                           format_func=lambda p: "no filter" if p == NO_FILTER else f"{p:g}",
                           help="Benjamini-Hochberg over every tested pathway. The paper used 0.001.")
p_label = "any adjusted p" if max_p == NO_FILTER else f"adjusted p < {max_p:g}"
# Adjusted p-values reach exactly 1, so "no filter" must let p = 1 through.
p_limit = float(np.nextafter(1.0, 2.0)) if max_p == NO_FILTER else max_p
min_overlap = middle.number_input("At least this many top genes in the pathway", min_value=1, max_value=100,
                                  value=PAPER_MIN_OVERLAP, step=1, key="pathways_min_overlap",
                                  help="The paper required 10.")
licence = COLLECTIONS[collection].licence
if collection in RESTRICTED:
    st.warning(f"Licence: {licence}.")
else:
    st.caption(f"Licence: {licence}.")
st.markdown(
    f"Fisher's exact test (one-sided) of the top {int(top_k)} genes of **{drug}** against the model's "
    f"{len(b.genes)}-gene panel as background (only panel genes can be ranked), pathways cut to the panel. "
    f"The paper's thresholds are adjusted p < {PAPER_MAX_ADJUSTED_P} and at least {PAPER_MIN_OVERLAP} genes; "
    "relax them to explore, and read relaxed results as hypotheses."
)

with st.spinner(f"Ranking genes for {drug} and testing {collection} pathways..."):
    if source.startswith("organoid") and sample is not None:
        ranking = organoid_genes(b.name, sample, drug)
        result = session_cached(("ora", b.name, sample, drug, collection, int(top_k), p_limit, int(min_overlap)),
                                lambda: pathway_enrichment(ranking, b, collection, int(top_k), p_limit, int(min_overlap)))
    else:
        ranking = reference_genes(b.name, drug, rows=int(top_k))
        result = pathway_enrichment(ranking, b, collection, int(top_k), p_limit, int(min_overlap))

if result.empty:
    st.warning(f"No {collection} pathway passes: {p_label}, at least {int(min_overlap)} of the top "
               f"{int(top_k)} genes in the pathway. Relax the thresholds (e.g. adjusted p < 0.05 and 3 genes) or try another "
               "collection; with 655 panel genes few pathways reach the paper's thresholds.")
    st.stop()

st.success(f"{len(result)} {collection} pathway(s) pass: {p_label}, at least {int(min_overlap)} of the top "
           f"{int(top_k)} genes in the pathway.")
shown = result.head(30).assign(minus_log10_adjusted_p=lambda t: -np.log10(t["adjusted_p"].clip(lower=1e-300)))
figure = px.scatter(
    shown.iloc[::-1], x="minus_log10_adjusted_p", y="term", size="overlap", color="overlap",
    color_continuous_scale="Viridis", hover_data={"set_size": True, "adjusted_p": ":.2e", "genes": True},
    labels={"minus_log10_adjusted_p": "-log10 adjusted p", "term": "", "overlap": "top genes in pathway"},
    title=f"{drug}: {collection} pathways enriched in the top {int(top_k)} genes ({source})",
)
figure.update_layout(height=max(320, 28 * len(shown) + 140), margin={"l": 10})
st.plotly_chart(figure, key="pathways_dotplot")
if len(result) > len(shown):
    st.caption(f"The plot shows the {len(shown)} most significant of {len(result)} pathways; the table lists all.")
table = result.assign(genes=result["genes"].str.replace(";", ", "))
st.dataframe(table, hide_index=True, key="pathways_table", column_config={
    "term": st.column_config.TextColumn("pathway", width=300),
    "overlap": st.column_config.NumberColumn("top genes in it", width=70),
    "set_size": st.column_config.NumberColumn("panel genes in it", width=70),
    "p_value": st.column_config.NumberColumn("p", format="%.2e", width=70),
    "adjusted_p": st.column_config.NumberColumn("adjusted p", format="%.2e", width=80),
    "odds_ratio": st.column_config.NumberColumn("odds ratio", format="%.1f", width=70),
    "genes": st.column_config.TextColumn("top genes in the pathway"),
})
st.download_button("Download pathways (CSV)", csv_bytes(table), file_name=f"{b.name}_{drug}_{collection}_pathways.csv",
                   mime="text/csv", key="pathways_download")
