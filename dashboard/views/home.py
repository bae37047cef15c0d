"""Home page: what the tool does, and which datasets this installation found."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import DataRootMissingError, data_root
from core.data.registry import DATASETS, load_cohort
from core.data.summary import summarise


@st.cache_data(show_spinner="Reading the datasets...")
def dataset_table() -> pd.DataFrame:
    return pd.DataFrame([summarise(load_cohort(name)) for name in DATASETS])


st.title("Drug response of patient-derived organoids")
st.markdown(
    """
Upload the gene-expression profile of a patient-derived organoid (PDO), or of a cohort, and see each
drug's predicted response as a z-score against a reference cohort, ranked from most to least
sensitive. Two models stand side by side: one trained from scratch on patient-derived organoids, one
pre-trained on cancer cell lines (GDSC) and then fine-tuned, following Prasse et al., *Cancers* 2022,
14, 3950. For each drug the genes behind the prediction and their pathways are shown, and every
number comes with its cross-validated accuracy next to naive baselines.

**Research use only. Not a medical device; not for treatment decisions.**
"""
)
st.subheader("Datasets found")
try:
    st.caption(f"Data folder: `{data_root()}`")
    st.dataframe(dataset_table(), hide_index=True)
    st.caption(
        "Only the colorectal organoids (van de Wetering et al. 2015) and the GDSC cell lines have "
        "expression; the other cohorts' expression is not publicly reachable, so they serve responses "
        "and the paper's folds for benchmarking only."
    )
except DataRootMissingError as error:
    st.error(str(error))
