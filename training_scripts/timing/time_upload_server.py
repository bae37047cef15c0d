"""Server memory and time of uploads through a real browser, and whether the memory comes back after the session.

Starts ``streamlit run dashboard/app.py`` on a free localhost port (the committed bundles, or ``--models``), opens
it in headless Chromium and, in one browser session: loads the home and Upload & QC pages (idle memory), uploads a
3-organoid file (warm idle: the gene mapper and panels are loaded once per server), then a file over the size limit
(refused by the browser's uploader), one over the organoid limit (refused by the app) and one large accepted file
(until its QC is shown), each with the time to the message on screen and the server's peak resident memory. Then
it closes the browser session and polls the server's memory until it is back within 20 % of the idle levels or
``--wait`` seconds pass. Uploads are real organoid expression (see ``time_upload_memory``).

Memory is the resident set (VmRSS) of the server process and its children, read from ``/proc``.
A disconnected session is kept by Streamlit for ``server.disconnectedSessionTTL`` seconds so that a browser can
reconnect after a network blip; ``--session-ttl`` sets it for this run (default: the project's config).

Example: ``python -m training_scripts.timing.time_upload_server --accepted 400 --over 550``. Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from core.config import REPO_ROOT, models_dir
from core.upload.limits import MAX_SAMPLES_PER_UPLOAD, MAX_UPLOAD_BYTES
from training_scripts.timing.time_upload_memory import upload_bytes

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
STARTUP_SECONDS = 180
STEP_MS = 300_000  # a large upload on a busy 2-core machine takes minutes
RETURN_FACTOR = 1.2  # "within 20 % of idle"
BROWSER_REFUSAL, APP_REFUSAL = "or smaller", "This file cannot be used"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (a training worker, if one runs)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                pending.extend(int(child) for child in (task / "children").read_text().split())
    return found


def resident_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MB."""
    total_kib = 0
    for process in _descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


class PeakSampler:
    """Samples a process's resident memory in a thread while an action runs; its peak in MB."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, resident_mb(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_mb(self.pid))


@contextlib.contextmanager
def dashboard(models: Path, session_ttl: int | None, log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``streamlit run dashboard/app.py`` on a free localhost port; its process and URL until exit."""
    port = _free_port()
    options = ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    options += ["--server.fileWatcherType", "none"]
    if session_ttl is not None:
        options += ["--server.disconnectedSessionTTL", str(session_ttl)]
    environment = dict(os.environ, PDO_MODELS_DIR=str(models), TF_CPP_MIN_LOG_LEVEL="2")
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", *options],
            cwd=REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"streamlit did not start on {url}; see {log}")
                time.sleep(0.5)
            yield process, url
        finally:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            process.kill()  # does nothing once it has exited
            process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run (no running indicator, no spinner)."""
    page.wait_for_timeout(500)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=STEP_MS)
    page.get_by_test_id("stSpinner").first.wait_for(state="detached", timeout=STEP_MS)


def settled_mb(pid: int, seconds: float = 5.0) -> float:
    """Resident memory after ``seconds`` of quiet (the lowest of the samples, MB)."""
    samples = []
    for _ in range(int(seconds / 0.5)):
        samples.append(resident_mb(pid))
        time.sleep(0.5)
    return min(samples)


def timed_upload(page, pid: int, path: Path, shown: str) -> tuple[float, float]:
    """Seconds from choosing ``path`` in the uploader until ``shown`` is on screen, and the server's peak MB."""
    with PeakSampler(pid) as sampler:
        start = time.monotonic()
        page.locator("input[type=file]").set_input_files(str(path))
        page.get_by_text(shown).first.wait_for(timeout=STEP_MS)
        seconds = time.monotonic() - start
        wait_idle(page)
    return seconds, sampler.peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=models_dir(), help="bundles the server reads")
    parser.add_argument("--accepted", type=int, default=400, help="organoids in the large accepted upload")
    parser.add_argument("--over", type=int, default=550, help="organoids in the upload over the organoid limit")
    parser.add_argument("--session-ttl", type=int, default=None, help="server.disconnectedSessionTTL, seconds")
    parser.add_argument("--wait", type=int, default=240, help="seconds to watch memory after the session ends")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    log = REPO_ROOT / "test-artifacts" / "streamlit_upload_server.log"
    log.parent.mkdir(exist_ok=True)
    oversize_samples = int(MAX_UPLOAD_BYTES / len(upload_bytes(100)) * 100 * 1.2)  # a file 20 % over the limit
    print(f"limits: {MAX_UPLOAD_BYTES / 1024**2:.0f} MB per file, {MAX_SAMPLES_PER_UPLOAD} organoids per upload")
    with tempfile.TemporaryDirectory() as folder, dashboard(args.models, args.session_ttl, log) as (server, url):
        files = {n: Path(folder) / f"organoids_{n}.csv" for n in (3, oversize_samples, args.over, args.accepted)}
        for n_samples, path in files.items():
            path.write_bytes(upload_bytes(n_samples))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1500, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(STEP_MS)
            page.goto(url)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Upload & QC").click()
            wait_idle(page)
            idle = settled_mb(server.pid)
            print(f"server idle after the first page loads: {idle:.0f} MB")
            seconds, peak = timed_upload(page, server.pid, files[3], "Quality control: organoids_3.csv")
            warm = settled_mb(server.pid)
            print(f"3 organoids accepted: QC on screen in {seconds:.1f} s, peak {peak:.0f} MB, then {warm:.0f} MB")
            for n_samples, refusal in ((oversize_samples, BROWSER_REFUSAL), (args.over, APP_REFUSAL)):
                path = files[n_samples]
                seconds, peak = timed_upload(page, server.pid, path, refusal)
                message = page.get_by_text(refusal).first.inner_text().splitlines()[0]
                print(
                    f"{n_samples} organoids ({path.stat().st_size / 1024**2:.1f} MB): refused in {seconds:.1f} s, "
                    f"server peak {peak:.0f} MB: {message[:110]}"
                )
            seconds, peak = timed_upload(
                page, server.pid, files[args.accepted], f"Quality control: organoids_{args.accepted}.csv"
            )
            held = settled_mb(server.pid)
            print(
                f"{args.accepted} organoids ({files[args.accepted].stat().st_size / 1024**2:.1f} MB) accepted: QC on "
                f"screen in {seconds:.1f} s, server peak {peak:.0f} MB, {held:.0f} MB while the session is open"
            )
            context.close()
            ttl = args.session_ttl if args.session_ttl is not None else configured_session_ttl()
            watch(server.pid, max(idle, warm), args.wait, ttl, lambda: another_visit(browser, url))
            browser.close()


def configured_session_ttl() -> int:
    """``server.disconnectedSessionTTL`` of the project's Streamlit config (Streamlit's default: 120 s)."""
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    return int(config.get("server", {}).get("disconnectedSessionTTL", 120))


def another_visit(browser, url: str) -> None:
    """A second browser session loads the home page and leaves, as another user would.

    Streamlit drops an expired disconnected session only when its session store is next written to, which a
    later disconnect does; without this visit, a server with one user would keep the first session for good."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.get_by_test_id("stSidebarNav").wait_for(timeout=STEP_MS)
    wait_idle(page)
    context.close()


def watch(pid: int, idle: float, wait: int, ttl: int, visit) -> None:
    """Poll the server's memory for ``wait`` seconds after the session ended, with ``visit`` once its TTL has
    passed; print when it is first back within 20 % of idle, and where it ends."""
    closed = time.monotonic()
    target = RETURN_FACTOR * idle
    print(f"session closed; watching for <= {target:.0f} MB (120 % of the idle {idle:.0f} MB) for {wait} s")
    visited, back, last_print = False, None, -15.0
    while (elapsed := time.monotonic() - closed) < wait:
        now = resident_mb(pid)
        if back is None and now <= target:
            back = elapsed
            print(f"  {elapsed:5.0f} s: {now:.0f} MB: back within 20 % of idle")
        elif elapsed - last_print >= 15:
            print(f"  {elapsed:5.0f} s: {now:.0f} MB", flush=True)
            last_print = elapsed
        if not visited and elapsed > ttl + 5:
            visit()
            visited = True
            print(f"  {time.monotonic() - closed:5.0f} s: another browser session came and went (TTL {ttl} s)")
        time.sleep(2)
    verdict = f"first back within 20 % after {back:.0f} s" if back is not None else "never back within 20 %"
    print(f"after {wait} s: {resident_mb(pid):.0f} MB ({verdict})")


if __name__ == "__main__":
    main()
