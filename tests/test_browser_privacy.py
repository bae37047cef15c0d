"""Private by default: through the main flows, every request the pages make goes to the app itself.

A hospital network blocks third parties, and a request to one tells it the user's address. Headless Chromium
records every request and websocket of one session (demo organoid -> ranking -> CSV and HTML report -> genes ->
pathways -> performance -> about), then of the downloaded report opened from disk; any other host fails the
test. The server reads the repository's ``.streamlit/config.toml`` like a user's (``browser_fixtures.serve``
adds no privacy flag), so the test also guards that file's ``browser.gatherUsageStats = false``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_fixtures import STEP_MS
from test_browser import _idle, _open, _shoot

pytestmark = pytest.mark.browser

LOCAL_SCHEMES = ("data", "blob")  # drawn by the browser itself: no request leaves the machine


def _foreign(urls: list[str], own: tuple[str, ...]) -> list[str]:
    """The URLs that reach neither the app (``own``: its origins) nor the browser's own schemes."""
    return sorted({u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and not u.startswith(own)})


def _favicon(page) -> str:
    """The tab's icon as the page sets it (Streamlit swaps it per page; a remote one is fetched at once)."""
    return page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\")?.href ?? ''")


def test_every_request_of_the_main_flows_goes_to_the_app_itself(browser, server, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url))
    page.set_default_timeout(STEP_MS)
    netloc = urlsplit(server).netloc
    own = (f"http://{netloc}/", f"ws://{netloc}/")
    icons = set()

    page.goto(server)
    page.get_by_text("Start here").wait_for()
    _idle(page)
    icons.add(_favicon(page))

    _open(page, "Upload & QC")
    page.get_by_text("Use a reference organoid as a demo").click()
    page.get_by_role("button", name="Use as demo profile").click()
    page.get_by_text("Quality control:", exact=False).wait_for()
    page.get_by_role("link", name="See the drug ranking").wait_for()
    _idle(page)
    icons.add(_favicon(page))

    page.get_by_role("link", name="See the drug ranking").click()
    page.get_by_text("Negative z-score = predicted more sensitive", exact=False).wait_for()
    page.locator("[data-testid=stDataFrame]").nth(1).wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _idle(page)
    icons.add(_favicon(page))
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").first.click()
    assert Path(csv_download.value.path()).read_text().startswith("rank,drug")
    page.get_by_role("button", name="Prepare HTML report").click()
    with page.expect_download() as report_download:
        page.get_by_role("button", name="Download HTML report").click()
    report = tmp_path / "report.html"
    report_download.value.save_as(report)

    page.get_by_role("button", name="Genes behind it").click()
    page.get_by_text("Genes behind a prediction").wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    _shoot(page, "privacy_genes")
    icons.add(_favicon(page))

    _open(page, "Pathways")
    page.get_by_text(re.compile(r"pathway reaches FDR|pathway\(s\) at FDR")).first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _shoot(page, "privacy_pathways")
    icons.add(_favicon(page))

    _open(page, "Model performance")
    page.get_by_text("Can these models order organoids within a drug?").wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    _shoot(page, "privacy_performance")
    icons.add(_favicon(page))

    _open(page, "About / model card")
    page.get_by_text("not a medical device", exact=False).first.wait_for()
    _idle(page)
    icons.add(_favicon(page))
    app_requests = len(requested)

    # The report opens offline: plotly.js is inline, so its chart draws with no request beyond the file itself.
    page.goto(report.as_uri())
    page.locator(".js-plotly-plot").first.wait_for()
    report_requests = requested[app_requests:]
    context.close()

    assert any(u.startswith(f"ws://{netloc}/_stcore/stream") for u in requested), "the recorder saw the app's socket"
    assert any("/media/" in u for u in requested), "the recorder saw the downloads"
    assert _foreign(requested[:app_requests], own) == []
    assert _foreign(report_requests, (report.as_uri(),)) == []
    assert all(icon.startswith(LOCAL_SCHEMES) or icon.startswith(own) for icon in icons), icons
