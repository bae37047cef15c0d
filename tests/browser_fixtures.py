"""Fixtures of the browser tests: ``streamlit run dashboard/app.py`` on the tiny bundles, and headless Chromium.

``tests/conftest.py`` registers this module as a plugin, so every browser test module gets the fixtures without
importing them. The servers are session-scoped (one per pytest-xdist worker that runs a browser test): a server's
first page imports TensorFlow and loads the bundles (tens of seconds on a busy machine), and no test changes what a
server holds beyond its own browser session (a test that restarts a server starts its own with ``serve``).
``browser`` is module-scoped: each module gets a fresh Chromium, which starts in a second or two.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_fixtures import APP, REPO_ROOT, environment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 180
STEP_MS = 120_000  # generous: the test machine may be busy training models


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(models: Path, log_name: str, port: int | None = None) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` on ``port`` (default: a free one), reading the bundles in ``models``; its
    URL until exit."""
    port = port or _free_port()
    log = REPO_ROOT / "test-artifacts"
    log.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # each pytest-xdist worker starts servers of its own
    log_name = f"{worker}_{log_name}" if worker else log_name
    with open(log / log_name, "w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(APP),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=REPO_ROOT,
            env=environment(models),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if process.poll() is not None:
                    pytest.fail(f"streamlit exited with code {process.returncode}; see {log / log_name}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not answer on {url} within {STARTUP_SECONDS} s")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def server(tiny_models_dir: Path):
    """The app on the tiny bundles, shared by the browser test modules; killed at the end of the test run."""
    with serve(tiny_models_dir, "streamlit_server.log") as url:
        yield url


@pytest.fixture(scope="session")
def committed_server():
    """The app on the committed bundles in ``trained_models/`` (what a clinician meets); killed at the end of the
    test run."""
    with serve(REPO_ROOT / "trained_models", "streamlit_server_committed.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. The browser tests need Debian's Chromium: install it with "
            "`apt-get update && apt-get install -y chromium` (as root). Do not use `playwright install`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    tab.goto(server)
    tab.get_by_text("Drug response of patient-derived organoids").wait_for()
    tab.get_by_role("link", name="1. Upload & QC").wait_for()  # the home page's start-here path
    yield tab
    context.close()
