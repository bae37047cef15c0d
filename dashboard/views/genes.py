"""Genes: which genes pushed one drug's prediction up or down, for this organoid and for the reference cohort."""

from __future__ import annotations

import streamlit as st

from core.explain.bundle_attributions import VIEWS
from core.usecases.organoid_figures import top_genes_figure
from dashboard.bundles import n_reference
from dashboard.explanations import organoid_genes, reference_explanations, reference_genes
from dashboard.session import current_sample
from dashboard.widgets import DOWNLOAD_ONLY, choose_view, csv_bytes, download_name, drug_standing, model_drug_controls

st.title("Genes behind a prediction")
b, drug = model_drug_controls("genes")
left, right = st.columns([2, 1])
view = choose_view(b.name, "genes_view", left)
top_n = right.slider("Genes shown", min_value=5, max_value=50, value=20, step=5, key="genes_top_n")
unit = b.response_unit
st.markdown(
    f"**{VIEWS[view].label}**: integrated gradients split {VIEWS[view].adds_up_to} into one contribution per gene, "
    f"in {unit} units. **Positive = pushes the predicted {unit} up = toward resistance** (red); negative = toward "
    "sensitivity (blue). Attributions explain the model, not the biology: a gene can matter to the model without "
    "being a known driver."
)
precomputed = reference_explanations(b.name)
if precomputed is not None and view in precomputed.specificity:
    measured = {name: values["top50_overlap"] for name, values in precomputed.specificity.items()}
    st.caption(
        "How drug-specific this view is for this model: two drugs share on average "
        f"{measured[view]:.0%} of their top-50 reference genes (absolute view: {measured['absolute']:.0%}; "
        f"random rankings: {50 / len(b.genes):.0%})."
    )

sample = current_sample()
left, right = st.columns(2)
with left:
    st.subheader(f"Organoid {sample}" if sample else "This organoid")
    if sample is None:
        st.info(
            "Upload a profile (or pick a reference organoid as a demo) on *Upload & QC* to see this organoid's genes."
        )
        st.page_link("views/upload.py", label="Go to Upload & QC", icon=":material/upload:")
    else:
        st.markdown(drug_standing(b.name, sample, drug))
        with st.spinner(f"Computing the genes behind {drug} for organoid {sample}..."):
            organoid = organoid_genes(b.name, sample, drug, view)
        st.plotly_chart(
            top_genes_figure(organoid, f"{drug}: top {top_n} genes, organoid {sample}", top_n, unit),
            key="genes_organoid_chart",
        )
        st.caption(
            "Averaged over the model's cross-validation ensemble, as the prediction itself. "
            f"{len(organoid)} measured panel genes ranked by |attribution|."
        )
        missing = len(b.genes) - len(organoid)
        if missing:
            st.caption(f"{missing} panel genes were not measured in this sample; they are left out of its ranking.")
with right:
    with st.spinner(f"Computing the genes behind {drug} for the reference organoids..."):
        reference = reference_genes(b.name, drug, view)
    st.subheader(f"Reference cohort ({n_reference(b)} organoids)")
    if reference is None:
        st.info(
            "This bundle was loaded from a file: it holds its cohort's predictions but not its expression, so the "
            "cohort's genes cannot be computed here. To see them, give the cohort's expression file again on "
            "*Fine-tune on your cohort*, below the loaded bundles."
        )
    else:
        st.plotly_chart(
            top_genes_figure(reference, f"{drug}: top {top_n} genes, reference cohort", top_n, unit),
            key="genes_reference_chart",
        )
        st.caption(
            "Each reference organoid is explained by the cross-validation model that never saw it (the model "
            "behind its reference prediction); bars are the mean signed attribution per organoid, genes ranked by the "
            "mean absolute attribution (so effects of opposite sign in different organoids do not cancel)."
        )

with st.expander("Gene tables"):
    tables = st.columns(2)
    if sample is not None:
        tables[0].dataframe(organoid.head(top_n), hide_index=True, key="genes_organoid_table")
        tables[0].download_button(
            "Download organoid genes (CSV)",
            csv_bytes(organoid),
            file_name=download_name(b.name, sample, drug, "genes", suffix=".csv"),
            mime="text/csv",
            key="genes_organoid_download",
            on_click=DOWNLOAD_ONLY,
        )
    if reference is not None:
        tables[1].dataframe(reference.head(top_n), hide_index=True, key="genes_reference_table")
        tables[1].download_button(
            "Download reference genes (CSV)",
            csv_bytes(reference),
            file_name=download_name(b.name, "reference", drug, "genes", suffix=".csv"),
            mime="text/csv",
            key="genes_reference_download",
            on_click=DOWNLOAD_ONLY,
        )
st.page_link("views/pathways.py", label=f"Pathways enriched in the top genes of {drug}", icon=":material/hub:")
