"""The dashboard in a real browser: headless Chromium (Playwright) against ``streamlit run dashboard/app.py``.

A clinician's path: upload a CSV of two organoids, read the ranking, open a drug's genes and pathways,
download the HTML report, and get a plain message for files that are not expression profiles. A screenshot
of every page goes to ``test-artifacts/screenshots/``.

Private by default, on the same walk: a hospital network blocks third parties, and a request to one tells it the
user's address, so every request and websocket of the session, then of the downloaded report opened from disk,
must go to the app itself. The server reads the repository's ``.streamlit/config.toml`` like a user's
(``browser_fixtures.serve`` adds no privacy flag), so the walk also guards that file's
``browser.gatherUsageStats = false``.

Needs Debian's Chromium at ``/usr/bin/chromium`` (``apt-get install -y chromium``); without it these tests
fail, on purpose, rather than skip.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_fixtures import STEP_MS
from dashboard_fixtures import REPO_ROOT, SCREENSHOTS, bad_response_table, organoid_csv

pytestmark = pytest.mark.browser

LOCAL_SCHEMES = ("data", "blob")  # drawn by the browser itself: no request leaves the machine


def _open(page, title: str) -> None:
    """Click a page in the sidebar navigation (keeps the browser session, unlike a new URL)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    _idle(page)


def _idle(page) -> None:
    """Wait until Streamlit has finished the current run (no running indicator, no spinner)."""
    page.wait_for_timeout(500)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=STEP_MS)
    page.get_by_test_id("stSpinner").first.wait_for(state="detached", timeout=STEP_MS)


def _shoot(page, name: str) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside its main block, so the viewport is grown to fit."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _idle(page)
    page.wait_for_timeout(700)  # let plotly finish drawing
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], height + 40), 8000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def _main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def _text_once_shown(page, *expected: str) -> str:
    """The main block's text once every ``expected`` text is drawn: a page can be read between a rerun's first
    element and its last (seen in CI after the upload's rerun), so each asserted text is waited on first."""
    main = page.get_by_test_id("stMain")
    for text in expected:
        main.get_by_text(text, exact=False).first.wait_for()
    return _main_text(page)


def _foreign(urls: list[str], own: tuple[str, ...]) -> list[str]:
    """The URLs that reach neither the app (``own``: its origins) nor the browser's own schemes."""
    return sorted({u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and not u.startswith(own)})


def _favicon(page) -> str:
    """The tab's icon as the page sets it (Streamlit swaps it per page; a remote one is fetched at once)."""
    return page.evaluate("() => document.querySelector(\"link[rel='shortcut icon']\")?.href ?? ''")


def test_clinician_path_upload_rank_genes_pathways_report_and_nothing_leaves_the_app(
    browser, server, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: requested.append(socket.url))
    page.set_default_timeout(STEP_MS)
    netloc = urlsplit(server).netloc
    own = (f"http://{netloc}/", f"ws://{netloc}/")
    icons: set[str] = set()
    try:
        page.goto(server)
        _walk(page, tmp_path, icons)
        app_requests = len(requested)
        # The report opens offline: plotly.js is inline, so its chart draws with no request beyond the file itself.
        report = tmp_path / "report.html"
        page.goto(report.as_uri())
        page.locator(".js-plotly-plot").first.wait_for()
        report_requests = requested[app_requests:]
    finally:
        context.close()
    assert any(u.startswith(f"ws://{netloc}/_stcore/stream") for u in requested), "the recorder saw the app's socket"
    assert any("/media/" in u for u in requested), "the recorder saw the downloads"
    assert _foreign(requested[:app_requests], own) == []
    assert _foreign(report_requests, (report.as_uri(),)) == []
    assert len(icons) > 0 and all(icon.startswith(LOCAL_SCHEMES) or icon.startswith(own) for icon in icons), icons


def _walk(page, tmp_path: Path, icons: set[str]) -> None:
    """Home -> upload -> ranking (CSV, HTML report saved as ``tmp_path/report.html``) -> genes -> pathways ->
    performance -> about, asserting what each page shows; ``icons`` gets each page's tab icon."""
    page.get_by_text("Drug response of patient-derived organoids").wait_for()
    page.get_by_role("link", name="1. Upload & QC").wait_for()  # the home page's start-here path
    _idle(page)
    icons.add(_favicon(page))
    _shoot(page, "01_home")

    _open(page, "Upload & QC")
    upload = organoid_csv(tmp_path / "two_organoids.csv", samples=2)
    started = time.monotonic()
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_text("Quality control: two_organoids.csv").wait_for()
    page.get_by_text("See the drug ranking").wait_for()
    _idle(page)
    text = _text_once_shown(page, "Samples found", "Samples:", "ComBat")
    assert "Samples found" in text and "Samples: P10, P11" in text and "log2" in text and "ComBat" in text
    icons.add(_favicon(page))
    _shoot(page, "02_upload_qc")

    page.get_by_role("link", name="See the drug ranking").click()
    page.get_by_text("Negative z-score = predicted more sensitive", exact=False).wait_for()
    page.locator("[data-testid=stDataFrame]").nth(1).wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _idle(page)
    upload_to_ranking = time.monotonic() - started
    text = _text_once_shown(
        page,
        "Trained from scratch",
        "Pre-trained on GDSC, fine-tuned",
        "Spearman rank correlation",
        "Top-5 overlap",
        "no better than naive",
        "Organoid P10.",
    )
    assert "Trained from scratch" in text and "Pre-trained on GDSC, fine-tuned" in text
    assert "Spearman rank correlation" in text and "Top-5 overlap" in text
    assert "no better than naive" in text
    assert "Organoid P10." in text  # the first organoid of the upload is the current one
    icons.add(_favicon(page))
    _shoot(page, "03_ranking")

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").first.click()
    ranking_csv = Path(csv_download.value.path()).read_text()
    assert ranking_csv.splitlines()[0].startswith("rank,drug,P(more sensitive),no better than a coin,predicted AUC")
    assert len(ranking_csv.splitlines()) == 1 + 8  # one row per drug of the tiny bundles

    page.get_by_role("button", name="Prepare HTML report").click()
    download_button = page.get_by_role("button", name="Download HTML report")
    download_button.wait_for()
    with page.expect_download() as report_download:
        download_button.click()
    report_download.value.save_as(tmp_path / "report.html")
    report = (tmp_path / "report.html").read_text()
    assert "Predicted drug response of organoid P10" in report and "Plotly.newPlot" in report

    started = time.monotonic()
    page.get_by_role("button", name="Genes behind it").click()
    page.get_by_text("Genes behind a prediction").wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    _idle(page)
    genes_seconds = time.monotonic() - started
    text = _text_once_shown(page, "Organoid P10", "Reference cohort (19 organoids)", "toward resistance")
    assert "Organoid P10" in text and "Reference cohort (19 organoids)" in text
    assert "toward resistance" in text
    icons.add(_favicon(page))
    _shoot(page, "04_genes")

    _open(page, "Pathways")
    page.get_by_text("GSEA preranked of every panel gene", exact=False).wait_for()
    # Ranked enrichment first: either a plain "no pathway reaches FDR < 0.25" or the passing pathways.
    page.get_by_text(re.compile(r"pathway reaches FDR|pathway\(s\) at FDR")).first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _idle(page)
    icons.add(_favicon(page))
    _shoot(page, "05_pathways_ranked")
    page.get_by_text("Over-representation of the top genes (the paper's test)").click()
    page.get_by_text("Fisher's exact test", exact=False).wait_for()
    # With the paper's thresholds: either a plain "no pathway passes" or a result.
    page.get_by_text(re.compile(r"pathway passes|pathway\(s\) pass")).first.wait_for()
    assert "adjusted p < 0.001, at least 10 of the top 200 genes" in _text_once_shown(page, "adjusted p < 0.001")
    _shoot(page, "06_pathways_paper_thresholds")
    # Relax the thresholds: no p filter (slider to its end) and 1 gene: every pathway with a hit.
    page.get_by_test_id("stSlider").get_by_role("slider").press("End")
    _idle(page)
    overlap = page.get_by_role("spinbutton", name="At least this many top genes in the pathway")
    overlap.fill("1")
    overlap.press("Enter")
    _idle(page)
    page.get_by_text("No filter: every", exact=False).wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    _shoot(page, "07_pathways_no_filter")

    _open(page, "Model performance")
    page.get_by_text("Can these models order organoids within a drug?").wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    _idle(page)
    assert "naive: per-drug mean" in _text_once_shown(page, "naive: per-drug mean")
    icons.add(_favicon(page))
    _shoot(page, "08_performance")

    _open(page, "About / model card")
    page.get_by_text("not a medical device", exact=False).first.wait_for()
    _idle(page)
    icons.add(_favicon(page))
    _shoot(page, "09_about")

    timings = REPO_ROOT / "test-artifacts" / "browser_timings.txt"
    timings.write_text(
        f"upload to ranking (2 organoids, tiny bundles): {upload_to_ranking:.1f} s\n"
        f"drug detail (genes page) after click: {genes_seconds:.1f} s\n"
    )
    print(timings.read_text())


def test_bad_files_get_a_plain_message(page, tmp_path: Path) -> None:
    _open(page, "Upload & QC")
    uploader = page.locator("input[type=file]")
    uploader.set_input_files(str(bad_response_table(tmp_path / "drug_screen.csv")))
    page.get_by_text("This file cannot be used.").wait_for()
    _idle(page)
    text = _text_once_shown(page, "looks like a drug-response table")
    assert "looks like a drug-response table" in text
    assert "Traceback" not in text
    _shoot(page, "09_upload_refused_response_table")

    disguised = tmp_path / "scan.csv"  # an image saved with a table's extension
    disguised.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    uploader.set_input_files(str(disguised))
    page.get_by_text("is a PNG image, not an expression table", exact=False).wait_for()
    assert "Traceback" not in _main_text(page)
    _shoot(page, "10_upload_refused_png")
