"""Entry point: ``streamlit run dashboard/app.py``. Pages only call ``core``; no science lives here."""

from __future__ import annotations

import streamlit as st

from dashboard.bundles import unusable_note
from dashboard.preload import preload_in_background
from dashboard.restart import notice_a_restart, rerun_on_reconnect
from dashboard.session import keep_widget_values
from dashboard.widgets import model_source_picker, sample_picker

# An emoji favicon is drawn by the browser itself; without one, Streamlit makes each page's Material icon the
# favicon, fetched from fonts.gstatic.com (a third party) on every page.
st.set_page_config(page_title="PDO drug response", page_icon="🧫", layout="wide")
preload_in_background()  # once per server: the models and reference data the first pages need
pages = [
    st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("views/upload.py", title="Upload & QC", icon=":material/upload:", url_path="upload"),
    st.Page("views/ranking.py", title="Drug ranking", icon=":material/format_list_numbered:", url_path="ranking"),
    st.Page("views/genes.py", title="Genes", icon=":material/genetics:", url_path="genes"),
    st.Page("views/pathways.py", title="Pathways", icon=":material/hub:", url_path="pathways"),
    st.Page("views/performance.py", title="Model performance", icon=":material/monitoring:", url_path="performance"),
    st.Page(
        "views/finetune.py", title="Fine-tune on your cohort", icon=":material/model_training:", url_path="finetune"
    ),
    st.Page("views/about.py", title="About / model card", icon=":material/info:", url_path="about"),
]
navigation = st.navigation(pages)
notice_a_restart()  # before the page, so the notice is at its top
# Rendered by the entry point, so the chosen organoid and models stay the same on every page.
sample_picker()
model_source_picker()
keep_widget_values()
unusable_note(container=st.sidebar)  # every page run checks the bundles; the first one logs them
with st.sidebar:
    rerun_on_reconnect(lambda: st.caption("Research use only. Not a medical device; not for treatment decisions."))
navigation.run()
