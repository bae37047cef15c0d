"""Load what a new session's first pages need in the background, once per server process, as soon as the first page
runs: a user who uploads a profile then finds the gene mapper, TensorFlow, the ranking page's bundles and the
reference organoids ready instead of waiting for them (measured: ``training_scripts/timing/time_dashboard.py``).

Everything is loaded through the same cached functions the pages call, so a page asking for something still loading
waits for that one load (Streamlit computes a cached value once) instead of starting a second. Only public data are
loaded here: nothing of any session.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import threading
import time
from collections.abc import Iterator

import streamlit as st
from streamlit.logger import get_logger

from core.data.genes import GeneMapper
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
from dashboard.session import collect_and_freeze, release_memory_of_ended_sessions

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
    release_memory_of_ended_sessions()  # its collections keep what is loaded here out of every page run's collection
    thread = threading.Thread(target=_preload, name=THREAD, daemon=True)
    thread.start()
    return thread


def _preload() -> None:
    """First what a cold server's first ranking waits for: the ranking page's imports (TensorFlow, gseapy: 9-26 s on
    2 busy cores; the app's first page no longer imports them) and bundles. Then the upload page's panels, gene
    mapper and reference organoids (it checks whether an upload repeats one), which that page loads itself if it
    comes first, and the stored explanations the genes page reads. The server log gets each step's seconds. A
    failure is logged and left to the page that needs the thing, which says what is wrong in its own words.

    Not here: tracing the genes page's gradient functions (one reference organoid explained against two others):
    13 s at load 9, during a cold server's first rankings, to save one network's trace (3-4 s) on the first genes
    page."""
    steps: dict[str, float] = {}
    try:
        with _timed(steps, "imports"):
            importlib.import_module("core.explain.bundle_attributions")
        with _timed(steps, "ranking bundles"):
            grid = reference_grid()
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
            collect_and_freeze()  # now, not at the release thread's next turn: the ranking's page runs collect faster
        with _timed(steps, "upload page"):
            for kinds in grid.values():
                reference_panel(next(iter(kinds.values())))
            GeneMapper.from_shared_data()
            reference_expression()
        with _timed(steps, "stored explanations"):
            for name in names:
                stored_explanations(name)
    except Exception:  # noqa: BLE001  (the pages load what failed here themselves and say why)
        LOG.warning("Preloading the reference bundles failed; pages load them when opened.", exc_info=True)
        return
    LOG.info(
        "Preloaded %s and the reference organoids in %.1f s (%s).",
        ", ".join(names),
        sum(steps.values()),
        ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items()),
    )


@contextlib.contextmanager
def _timed(steps: dict[str, float], step: str) -> Iterator[None]:
    """Note the seconds the block took in ``steps`` under ``step``."""
    started = time.perf_counter()
    yield
    steps[step] = time.perf_counter() - started
