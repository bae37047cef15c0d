"""What one browser session holds: the uploaded profile, the bundles trained or loaded in it, and results derived
from them, cached for this session only.

Uploaded data stay in ``st.session_state`` of the browser session that uploaded them: never written to disk, never
put in a cache shared between sessions.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.inference.bundle import ModelBundle
from core.labshift.prepare import PreparedProfiles
from core.labshift.range_check import RangeVerdict
from core.upload import ValidatedProfile

PROFILE, PROFILE_ID, SAMPLE = "profile", "profile_id", "sample"
PREPARED = "prepared_profiles"  # what the models read: the profile aligned with its cohort or not, with verdicts


MODEL_SOURCE, REFERENCE_MODELS, SESSION_MODELS = "model_source", "reference", "session"


MODEL_SOURCE_WIDGET = "model_source_widget"


_CACHE = "_session_cache"


_SESSION_BUNDLES = "_session_bundles"  # bundle name -> ModelBundle, this session only


_SESSION_REFERENCE = "_session_reference_expression"  # bundle name -> its reference cohort's expression


_ids = itertools.count(1)


def session_bundles() -> dict[str, ModelBundle]:
    """Bundles trained on this session's uploaded cohort or loaded from a zip in this session."""
    return st.session_state.get(_SESSION_BUNDLES, {})


def add_session_bundles(bundles: list[ModelBundle], reference: pd.DataFrame | None) -> None:
    """Keep ``bundles`` for this session only and switch every page to them.

    ``reference``: expression of the cohort they were trained on (for its gene rankings); None for bundles
    loaded from a file, which hold predictions but no expression.
    """
    store = st.session_state.setdefault(_SESSION_BUNDLES, {})
    references = st.session_state.setdefault(_SESSION_REFERENCE, {})
    for b in bundles:
        store[b.name] = b
        references[b.name] = reference
    st.session_state[MODEL_SOURCE] = SESSION_MODELS
    st.session_state.pop(MODEL_SOURCE_WIDGET, None)  # else the sidebar keeps showing an earlier choice
    st.session_state[_CACHE] = {}  # rankings of an earlier bundle under the same name are stale


def attach_reference_expression(name: str, expression: pd.DataFrame) -> None:
    """Give a session bundle loaded from a file its cohort's expression again (for the cohort's gene rankings)."""
    st.session_state.setdefault(_SESSION_REFERENCE, {})[name] = expression


def session_reference_expression(name: str) -> pd.DataFrame | None:
    """Expression of the cohort a session bundle was trained on; None for one loaded from a file without it."""
    return st.session_state.get(_SESSION_REFERENCE, {}).get(name)


def using_session_models() -> bool:
    return bool(session_bundles()) and st.session_state.get(MODEL_SOURCE) == SESSION_MODELS


def is_session_bundle(name: str) -> bool:
    return using_session_models() and name in session_bundles()


def has_reference_expression(name: str) -> bool:
    """False only for a session bundle loaded from a file: its cohort's expression is not part of a bundle."""
    return not is_session_bundle(name) or st.session_state.get(_SESSION_REFERENCE, {}).get(name) is not None


# Fields of the fine-tuning page a user expects to find as left after looking at other pages during training.
FINETUNE_FIELDS = (
    "finetune_label",
    "finetune_metric",
    "finetune_direction",
    "finetune_architecture",
    "finetune_batch",
    "finetune_epochs",
    "finetune_folds",
)


SAME_LAB_FIELD = "upload_same_lab"  # the upload page's answer: do the organoids come from one lab?


def keep_widget_values(keys: tuple[str, ...] = (*FINETUNE_FIELDS, SAME_LAB_FIELD)) -> None:
    """Keep widget values while another page is shown (called by the entry point on every run).

    Streamlit forgets a widget's value after a run that does not draw it; assigning the value to itself
    keeps it. Only plain input widgets may be listed: buttons and file uploaders refuse assignment.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def take_upload(uploaded: UploadedFile) -> bytes:
    """The uploaded file's bytes, dropped from Streamlit's store of uploads once read.

    Streamlit keeps an upload in server memory until its session is shut down, and a session whose browser left
    expires without being shut down (streamlit 1.67), so every file would stay for the life of the server
    (measured: ``training_scripts/timing/time_upload_server.py``). The page reads a file once and keeps what it
    validated, as Streamlit's own chat and audio inputs do; the uploader then gives None on later runs."""
    data = uploaded.getvalue()
    context = get_script_run_ctx()
    if context is not None and isinstance(context.uploaded_file_mgr, MemoryUploadedFileManager):
        context.uploaded_file_mgr.remove_file(session_id=context.session_id, file_id=uploaded.file_id)
    return data


RELEASE_SECONDS = 30
_FREEZING = threading.Lock()


def collect_and_freeze() -> None:
    """Collect every object that became garbage, then hide the live ones from later collections (``gc.freeze``).

    Streamlit runs two full collections after every script run (its own and Keras' ``clear_session``), and with
    TensorFlow and the bundles loaded each walked some 450,000 objects: 4.6 s of a new session's 8 s from upload
    to ranking (py-spy, 2 busy cores). Frozen objects are skipped by the collector, never kept alive by it (their
    reference counts still free them), and each call unfreezes before it collects, so an object frozen while a
    session used it is collected at the next call once that session has ended: what a person uploaded is freed
    as before, within :data:`RELEASE_SECONDS` of its session's end."""
    with _FREEZING:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


@st.cache_resource(show_spinner=False)
def release_memory_of_ended_sessions() -> threading.Thread:
    """Start, once per server, a thread that frees what ended sessions held, every :data:`RELEASE_SECONDS`.

    A session's profile hangs in reference cycles (Streamlit's session objects), which only a full garbage
    collection frees, and an idle server allocates too little to trigger one; glibc then keeps the freed pages
    unless trimmed. Measured with ``training_scripts/timing/time_upload_server.py``: a 400-organoid upload left the
    server 89 MB above its idle level after the session was dropped, and 11 MB with this thread. Each collection
    also freezes what is alive (:func:`collect_and_freeze`), which keeps the collections after each page run short."""
    # The running process's own symbols (libc's among them): ctypes.util.find_library would spawn ldconfig.
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only

    def release() -> None:
        while True:
            time.sleep(RELEASE_SECONDS)
            collect_and_freeze()
            if trim is not None:
                trim(0)

    thread = threading.Thread(target=release, name="release-ended-sessions", daemon=True)
    thread.start()
    return thread


def set_profile(profile: ValidatedProfile, source: str) -> None:
    """Keep a validated profile for this browser session only, replacing any earlier one."""
    st.session_state[PROFILE] = profile
    for stale in (PREPARED, SAME_LAB_FIELD):  # a new file is read by the rule's default until asked otherwise
        st.session_state.pop(stale, None)
    st.session_state["profile_source"] = source
    st.session_state[PROFILE_ID] = next(_ids)
    st.session_state[_CACHE] = {}


def set_prepared(prepared: PreparedProfiles) -> None:
    """Keep what the models read of the profile (aligned with its cohort or each on its own); results computed
    from an earlier reading are dropped."""
    st.session_state[PREPARED] = prepared
    st.session_state[PROFILE_ID] = next(_ids)
    st.session_state[_CACHE] = {}


def prepared() -> PreparedProfiles | None:
    return st.session_state.get(PREPARED)


def sample_verdict(sample: str) -> RangeVerdict | None:
    """The out-of-range verdict of ``sample`` against the reference organoids; None when the check could not run
    (no reference statistics) or does not apply (a lab's own bundles are chosen)."""
    current = prepared()
    return None if current is None or using_session_models() else current.verdicts.get(sample)


def clear_profile() -> None:
    for key in (PROFILE, PREPARED, "profile_source", PROFILE_ID, _CACHE, "upload_file_id", "report_html"):
        st.session_state.pop(key, None)


def profile() -> ValidatedProfile | None:
    return st.session_state.get(PROFILE)


def samples() -> list[str]:
    current = profile()
    return [] if current is None else [str(s) for s in current.expression.index]


def current_sample() -> str | None:
    names = samples()
    if not names:
        return None
    chosen = st.session_state.get(SAMPLE)
    return chosen if chosen in names else names[0]


def sample_expression(sample: str) -> pd.DataFrame:
    """One sample as the models read it (one row). For the reference bundles: aligned with its cohort where the
    upload page's rule said so (:func:`core.labshift.prepare.prepare_profiles`). For a lab's own bundles: as
    uploaded, since their reference is that lab's cohort, which their ComBat fit already treats as one batch.
    Genes a sample lacks stay NaN and the models set them to the reference mean (``ExpressionPreprocessor``)."""
    current, reading = profile(), prepared()
    assert current is not None
    aligned = reading is not None and not using_session_models()
    return (reading.expression if aligned else current.expression).loc[[sample]]


def session_cached(key: Hashable, compute: Callable[[], Any]) -> Any:
    """Memoise a result derived from the uploaded profile in this session only."""
    return session_cached_many([key], lambda _: {key: compute()})[key]


def session_cached_many(keys: list[Hashable], compute: Callable[[list[Hashable]], dict[Hashable, Any]]) -> dict:
    """:func:`session_cached` of several results: ``compute`` gets the keys not yet cached and returns a value for
    each, for results that cost less computed together (key -> value, in the order of ``keys``)."""
    cache = st.session_state.setdefault(_CACHE, {})
    profile_id = st.session_state.get(PROFILE_ID)
    missing = [key for key in keys if (profile_id, key) not in cache]
    if missing:
        for key, value in compute(missing).items():
            cache[(profile_id, key)] = value
    return {key: cache[(profile_id, key)] for key in keys}
