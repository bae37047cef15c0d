"""A page left open across a server restart says that its uploads are gone (``dashboard.restart``).

The browser that reconnects keeps the address the page wrote (``?server=<this process's name>``); these tests set
an earlier process's name there, as such a browser does, and read what each page then shows. No bundles are
needed: the app points at an empty models folder, so no test waits on bundles being built or checked. One
browser test stops and starts a real server under an open ranking page.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_fixtures import STEP_MS, serve
from dashboard_fixtures import APP, organoid_csv
from streamlit.testing.v1 import AppTest
from test_browser import _open

from dashboard.restart import NOTICE, SERVER_MARK

STOPPED_SERVER = "a-stopped-server"


@pytest.fixture
def no_bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDO_MODELS_DIR", str(tmp_path / "models"))


def _opened(page: str, server: str | None = None) -> AppTest:
    """A new session on ``page``, its address naming ``server`` (as a browser reconnecting with it does)."""
    app = AppTest.from_file(str(APP), default_timeout=120).switch_page(page)
    if server is not None:
        app.query_params[SERVER_MARK] = server
    return app.run()


def _reconnected(page: str) -> tuple[AppTest, str]:
    """A session on ``page`` whose address named a stopped server; and this server's name."""
    return _opened(page, STOPPED_SERVER), _opened(page).query_params[SERVER_MARK]


def _notices(app: AppTest) -> list[str]:
    return [w.value for w in app.main.warning if w.value == NOTICE]


def test_a_ranking_open_across_a_restart_shows_no_ranking_and_says_why(no_bundles) -> None:
    app, this_server = _reconnected("views/ranking.py")
    assert not app.exception
    assert app.main[0].value == NOTICE  # at the top of the page, once
    assert len(_notices(app)) == 1
    assert app.info[0].value.startswith("No organoid profile yet.")
    assert not app.dataframe and not app.get("download_button")
    assert app.query_params[SERVER_MARK] == this_server  # the address now names the running server
    assert _notices(app.run()) == [NOTICE]  # still said on the next run, until a profile is uploaded


def test_the_notice_follows_to_the_upload_page_and_ends_with_a_new_profile(no_bundles, tmp_path: Path) -> None:
    app, this_server = _reconnected("views/ranking.py")
    # A page link clears the address's parameters; the run of the page it opens writes the mark again.
    app.query_params.clear()
    app = app.switch_page("views/upload.py").run()
    assert not app.exception and app.query_params[SERVER_MARK] == this_server
    assert app.main[0].value == NOTICE
    profile = organoid_csv(tmp_path / "two_organoids.csv", samples=2).read_bytes()
    app = app.file_uploader(key="upload_file").set_value(("two_organoids.csv", profile, "text/csv")).run()
    assert not app.exception and "profile" in app.session_state
    assert not _notices(app)


def test_a_page_opened_on_this_server_says_nothing_of_a_restart(no_bundles) -> None:
    for page in ("views/ranking.py", "views/upload.py"):
        first = _opened(page)
        assert not first.exception and not _notices(first)
        again = _opened(page, first.query_params[SERVER_MARK])  # reloaded, or reconnected to the same server
        assert not again.exception and not _notices(again)


def _address_mark(tab) -> str | None:
    return parse_qs(urlsplit(tab.evaluate("location.href")).query).get(SERVER_MARK, [None])[0]


@pytest.mark.browser
def test_a_ranking_left_open_across_a_real_restart_is_redrawn_without_a_click(browser, tiny_models_dir) -> None:
    """Streamlit's browser code reruns a reconnected page only when it has a fragment on a timer (the sidebar's
    caption, ``dashboard.restart.rerun_on_reconnect``); without one the old ranking stayed, as if live, until a
    click. Here nothing is clicked between the restart and the notice."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    with serve(tiny_models_dir, "streamlit_before_restart.log") as url:
        tab.goto(f"{url}/upload")
        tab.get_by_text("Use a reference organoid as a demo").click()
        tab.get_by_role("button", name="Use as demo profile").click()
        tab.get_by_text("Organoid shown on every page").wait_for()
        _open(tab, "Drug ranking")
        tab.get_by_text("Download CSV").first.wait_for()
        before = _address_mark(tab)
    with serve(tiny_models_dir, "streamlit_after_restart.log", port=urlsplit(url).port):
        tab.get_by_text("The server was restarted since this page was opened").wait_for()
        tab.get_by_text("No organoid profile yet").wait_for()
        tab.get_by_text("Download CSV").first.wait_for(state="detached")  # the old ranking is gone
        after = _address_mark(tab)
        assert before is not None and after not in (None, before)
        tab.get_by_role("link", name="Go to Upload & QC").click()
        tab.get_by_role("heading", name="Upload & QC").wait_for()
        tab.get_by_text("The server was restarted since this page was opened").wait_for()
        assert _address_mark(tab) == after
    context.close()
