"""Home page: what the tool does, where a first-time user starts, and which data this installation found."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import DataRootMissingError, data_root
from core.data.registry import DATASETS, load_cohort
from core.data.summary import dataset_label, summarise

# The path through the app a first-time user takes, in order: page, label, what they get there.
START_HERE = (
    (
        "views/upload.py",
        "Upload & QC",
        ":material/upload:",
        "Give the gene-expression profile of your organoid (or of several), or try a reference organoid as a demo. "
        "The file is checked and you see how much of it the models can use.",
    ),
    (
        "views/ranking.py",
        "Drug ranking",
        ":material/format_list_numbered:",
        "Each drug's predicted response for your organoid, compared with other organoids, most promising first, "
        "with how far each model and each number can be trusted.",
    ),
    (
        "views/genes.py",
        "Genes",
        ":material/genetics:",
        "For a drug you pick: which of the organoid's genes pushed its prediction up or down.",
    ),
    (
        "views/performance.py",
        "Model performance",
        ":material/monitoring:",
        "How well the models did on organoids they had never seen, next to simple rules of thumb.",
    ),
)


@st.cache_data(show_spinner="Reading the datasets...")
def dataset_table() -> pd.DataFrame:
    table = pd.DataFrame([summarise(load_cohort(name)) for name in DATASETS])
    return table.assign(dataset=table["dataset"].map(dataset_label))


st.title("Drug response of patient-derived organoids")
st.markdown(
    "See which drugs a patient's tumour organoid is predicted to respond to best, from its gene expression alone. "
    "Two kinds of model stand side by side: one trained only on organoids, one that first learnt from cancer "
    "cell lines and was then tuned on organoids (after Prasse et al., *Cancers* 2022, 14, 3950)."
)
st.warning("**Research use only.** Not a medical device; not for treatment decisions.", icon=":material/info:")

st.subheader("Start here")
for step, (page, label, icon, what) in enumerate(START_HERE, start=1):
    link, text = st.columns([1, 3], vertical_alignment="center")
    link.page_link(page, label=f"{step}. {label}", icon=icon)
    text.markdown(what)
st.caption(
    "Pathways (gene groups behind a drug's prediction) and fine-tuning on your own screened cohort are in "
    "the menu on the left; *About* describes every model."
)

try:
    data_root()  # the server's folder is not shown: it means nothing to a reader and tells a stranger too much
except DataRootMissingError as error:
    st.error(str(error))
else:
    # Opened on demand: reading every dataset takes about 25 s on a cold start, which the home page must not wait for.
    with st.expander("Data this installation found", key="home_datasets", on_change="rerun") as datasets:
        if datasets.open:
            st.dataframe(dataset_table(), hide_index=True)
        st.caption(
            "Only the colorectal organoids and the cancer cell lines come with gene expression; the other "
            "collections' expression is not public, so they serve drug responses for benchmarking only."
        )
