"""Say when a page was opened on a server process that has since stopped: its session, and everything uploaded in
it, died with that process, while the browser kept showing the page.

Every run writes a random name of this server process into the page's address (``?server=...``). A browser that
reconnects after a restart keeps its address, so the first run on the new process finds another name there.
Page links and ``st.switch_page`` clear the address's parameters; the next run writes the name again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import streamlit as st

from dashboard.session import profile

SERVER_MARK = "server"
_RESTARTED = "restarted_server"  # this session was opened from a page of an earlier server process
NOTICE = (
    "**The server was restarted since this page was opened:** nothing you uploaded was kept (it is never written "
    "to disk). Upload your profile again on *Upload & QC*."
)
# Any interval will do: the browser reruns a page on reconnecting only while one of its fragments reruns on a
# timer, so a long one costs one tiny run per open tab every few minutes.
RECONNECT_RERUN_SECONDS = 300


@st.cache_resource(show_spinner=False)
def server_run_id() -> str:
    """A random name for this server process, made once."""
    return secrets.token_hex(4)


def restarted() -> bool:
    """True in a session opened from a page of an earlier server process (its uploads were lost with it)."""
    return bool(st.session_state.get(_RESTARTED))


def notice_a_restart() -> None:
    """Read the server's name in the address, then write this process's there; say once per page, at its top,
    that the uploads are gone, until a profile is uploaded again (the entry point calls this on every run)."""
    mark = st.query_params.get(SERVER_MARK)
    if mark is not None and mark != server_run_id():
        st.session_state[_RESTARTED] = True
    st.query_params[SERVER_MARK] = server_run_id()
    if restarted() and profile() is None:
        st.warning(NOTICE, icon=":material/restart_alt:")


def rerun_on_reconnect(draw: Callable[[], None]) -> None:
    """Draw ``draw`` in a fragment that reruns on a timer: Streamlit's browser code reruns a reconnected page only
    when the page has such a fragment, so a page left open across a restart is redrawn (with the notice) as soon
    as the browser reconnects, not at the user's next click."""
    st.fragment(run_every=RECONNECT_RERUN_SECONDS)(draw)()
