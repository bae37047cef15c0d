"""Entry point: ``streamlit run dashboard/app.py``. Pages only call ``core``; no science lives here."""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# Streamlit runs this file as a script; make the repository root importable so ``core`` resolves.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

st.set_page_config(page_title="PDO drug response", layout="wide")
pages = [st.Page("views/home.py", title="Home", default=True)]
st.navigation(pages).run()
