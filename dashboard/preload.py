"""Load what a new session's first pages need in the background, once per server process, as soon as the first page
runs: a user who uploads a profile then finds the gene mapper, TensorFlow, the ranking page's bundles and the
reference organoids ready instead of waiting for them (measured: ``training_scripts/timing/time_dashboard.py``).

Everything is loaded through the same cached functions the pages call, so a page asking for something still loading
waits for that one load (Streamlit computes a cached value once) instead of starting a second. Only public data are
loaded here: nothing of any session.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

import streamlit as st
from streamlit.logger import get_logger

from core.data.genes import GeneMapper
from core.usecases.bundle_grid import reference_cohort
from core.usecases.ranking import ALWAYS_SHOWN, shown_trainings
from dashboard.bundles import (
    default_architecture,
    readable_evidence,
    reference_bundle,
    reference_evidence,
    reference_expression,
    reference_grid,
    reference_held_out,
    reference_panel,
)
from dashboard.explanations import stored_explanations

LOG = get_logger(__name__)
THREAD = "preload-public-data"


class _NoContextWarning(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for this thread: the cached functions' spinners have
    no page to be drawn on here, which is expected, not a fault worth a line in the log for each load."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD or "missing ScriptRunContext" not in record.getMessage()


@st.cache_resource(show_spinner=False)
def preload_in_background() -> threading.Thread:
    """Start the loading thread once per server process (later calls return the same thread)."""
    get_logger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NoContextWarning())
    thread = threading.Thread(target=_preload, name=THREAD, daemon=True)
    thread.start()
    return thread


def _preload() -> None:
    """In the order a new user meets them: the upload page's panels and gene mapper, then the ranking page's
    bundles (TensorFlow with the first), then the reference organoids and stored explanations the genes page reads.
    A failure is logged and left to the page that needs the thing, which says what is wrong in its own words."""
    started = time.perf_counter()
    try:
        grid = reference_grid()
        for kinds in grid.values():
            reference_panel(next(iter(kinds.values())))
        GeneMapper.from_shared_data()
        evidence_of = functools.partial(readable_evidence, evidence_of=reference_evidence)
        architecture = default_architecture(grid, ALWAYS_SHOWN, evidence_of)
        if architecture is None:
            return
        kinds = grid[architecture]
        shown = shown_trainings(
            {k: evidence_of(n) for k, n in kinds.items()}, {k: reference_held_out(n) for k, n in kinds.items()}
        )
        names = [kinds[training] for training in shown]
        for name in names:
            reference_bundle(name)
        reference_expression(reference_cohort(reference_bundle(names[0]).manifest))
        for name in names:
            stored_explanations(name)
    except Exception:  # noqa: BLE001  (the pages load what failed here themselves and say why)
        LOG.warning("Preloading the reference bundles failed; pages load them when opened.", exc_info=True)
        return
    LOG.info("Preloaded %s and the reference organoids in %.1f s.", ", ".join(names), time.perf_counter() - started)
