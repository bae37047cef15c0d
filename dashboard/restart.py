"""Say when a page outlived its server session: the server process was restarted (or the page stayed disconnected
until its session expired) while the browser kept showing the page, and everything uploaded in it is gone.

A reconnecting browser asks to resume its session: Streamlit's browser code sends that session's id as the third
entry of the websocket's ``Sec-WebSocket-Protocol`` header (a first load or a reload sends none). A server that
still holds the session resumes it; one that does not starts a new session, whose header then names another.
Nothing is written into the page's address: a mark there made every page link add a second history entry, so the
browser's Back button needed two presses per page.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.session import profile

SESSION_LOST = "session_lost"  # this session replaced one that the server no longer held
NOTICE = (
    "**The server was restarted since this page was opened:** nothing you uploaded was kept (it is never written "
    "to disk). Upload your profile again on *Upload & QC*."
)
# Any interval will do: the browser reruns a page on reconnecting only while one of its fragments reruns on a
# timer, so a long one costs one tiny run per open tab every few minutes.
RECONNECT_RERUN_SECONDS = 300


def _session_asked_for() -> str | None:
    """The session id a reconnecting browser asked to resume; None on a first load or a reload."""
    entries = [entry.strip() for entry in (st.context.headers.get("Sec-WebSocket-Protocol") or "").split(",")]
    return entries[2] if len(entries) > 2 and entries[2] else None


def restarted() -> bool:
    """True in a session that replaced one the server no longer held (its uploads were lost with it)."""
    return bool(st.session_state.get(SESSION_LOST))


def notice_a_restart() -> None:
    """At the top of every page (the entry point calls this on every run), until a profile is uploaded again:
    say that a session the browser asked to resume is gone, and its uploads with it."""
    asked_for, context = _session_asked_for(), get_script_run_ctx()
    if asked_for is not None and context is not None and asked_for != context.session_id:
        st.session_state[SESSION_LOST] = True
    if restarted() and profile() is None:
        st.warning(NOTICE, icon=":material/restart_alt:")


def rerun_on_reconnect(draw: Callable[[], None]) -> None:
    """Draw ``draw`` in a fragment that reruns on a timer: Streamlit's browser code reruns a reconnected page only
    when the page has such a fragment, so a page left open across a restart is redrawn (with the notice) as soon
    as the browser reconnects, not at the user's next click."""
    st.fragment(run_every=RECONNECT_RERUN_SECONDS)(draw)()
