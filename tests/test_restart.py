"""A page left open across a server restart says that its uploads are gone (``dashboard.restart``).

A restart is found by what the reconnecting browser asks for (a session the new server does not hold), which only a
real browser and a real restart produce: the browser test does that under an open ranking page. The AppTest cases
start from a session in which the restart was found and read what the ranking and upload pages then show. They
need no bundles: the app points at an empty models folder, so no test waits on bundles being built or checked.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_fixtures import STEP_MS, serve
from dashboard_fixtures import APP, organoid_csv
from streamlit.testing.v1 import AppTest
from test_browser import _open

from dashboard.restart import NOTICE, SESSION_LOST


@pytest.fixture
def no_bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDO_MODELS_DIR", str(tmp_path / "models"))


def _after_a_restart(page: str) -> AppTest:
    """A session on ``page`` that replaced one the server no longer held."""
    app = AppTest.from_file(str(APP), default_timeout=120).switch_page(page)
    app.session_state[SESSION_LOST] = True
    return app.run()


def _notices(app: AppTest) -> list[str]:
    return [w.value for w in app.main.warning if w.value == NOTICE]


def test_a_ranking_after_a_restart_shows_no_ranking_and_says_why(no_bundles) -> None:
    app = _after_a_restart("views/ranking.py")
    assert not app.exception
    assert app.main[0].value == NOTICE  # at the top of the page, once
    assert len(_notices(app)) == 1
    assert app.info[0].value.startswith("No organoid profile yet.")
    assert not app.dataframe and not app.get("download_button")
    assert _notices(app.run()) == [NOTICE]  # still said on the next run, until a profile is uploaded


def test_the_notice_follows_to_the_upload_page_and_ends_with_a_new_profile(no_bundles, tmp_path: Path) -> None:
    app = _after_a_restart("views/ranking.py").switch_page("views/upload.py").run()
    assert not app.exception and app.main[0].value == NOTICE
    profile = organoid_csv(tmp_path / "two_organoids.csv", samples=2).read_bytes()
    app = app.file_uploader(key="upload_file").set_value(("two_organoids.csv", profile, "text/csv")).run()
    assert not app.exception and "profile" in app.session_state
    assert not _notices(app)
    assert not _notices(AppTest.from_file(str(APP), default_timeout=120).switch_page("views/upload.py").run())


@pytest.mark.browser
def test_a_ranking_left_open_across_a_real_restart_is_redrawn_without_a_click(browser, tiny_models_dir) -> None:
    """Streamlit's browser code reruns a reconnected page only when it has a fragment on a timer (the sidebar's
    caption, ``dashboard.restart.rerun_on_reconnect``); without one the old ranking stayed, as if live, until a
    click. Here nothing is clicked between the restart and the notice; then the Back button and a reload."""
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
    with serve(tiny_models_dir, "streamlit_after_restart.log", port=urlsplit(url).port):
        tab.get_by_text("The server was restarted since this page was opened").wait_for()
        tab.get_by_text("No organoid profile yet").wait_for()
        tab.get_by_text("Download CSV").first.wait_for(state="detached")  # the old ranking is gone
        tab.get_by_role("link", name="Go to Upload & QC").click()
        tab.get_by_role("heading", name="Upload & QC").wait_for()
        tab.get_by_text("The server was restarted since this page was opened").wait_for()
        tab.go_back()  # one press back to the ranking: the notice wrote nothing into the address or the history
        tab.get_by_text("No organoid profile yet").wait_for()
        assert urlsplit(tab.url).path == "/ranking" and not urlsplit(tab.url).query
        tab.reload()  # a new page on the running server: nothing to say
        tab.get_by_text("No organoid profile yet").wait_for()
        assert not tab.get_by_text("The server was restarted since this page was opened").count()
    context.close()
