"""Run a long training on a thread, so the dashboard page that started it stays usable while it runs.

Streamlit re-runs a page's script on every click and stops the run in progress, so training inside the
script would block the session (and any click would abort it). A :class:`BackgroundJob` instead runs on
its own thread; the page keeps the job object in its session state and polls it. The thread never
touches Streamlit: it only writes the job's fields.

One training runs at a time per server process: on a 2-core machine two side by side would each take
twice as long, so a second one waits (status ``queued``) until the first ends.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
_ONE_AT_A_TIME = threading.Lock()


class Cancelled(Exception):
    """Raised inside the work, at its next progress report, once the user asked to stop."""


@dataclass
class BackgroundJob:
    """A run's state as the page sees it: status, latest progress event, result or error, timing."""

    status: str = QUEUED
    progress: Any = None
    result: Any = None
    error: str = ""
    started: float | None = None
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def seconds(self) -> float:
        """Running time so far (or in total, once finished)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    def report(self, event: Any) -> None:
        """Progress callback handed to the work; stops it with :class:`Cancelled` once cancel was asked."""
        if self._cancel.is_set():
            raise Cancelled
        self.progress = event

    def cancel(self) -> None:
        self._cancel.set()


def start(work: Callable[[Callable[[Any], None]], Any], name: str) -> BackgroundJob:
    """Run ``work(report)`` on a daemon thread and return its job at once."""
    job = BackgroundJob()
    threading.Thread(target=_run, args=(job, work), name=name, daemon=True).start()
    return job


def _run(job: BackgroundJob, work: Callable[[Callable[[Any], None]], Any]) -> None:
    with _ONE_AT_A_TIME:
        job.started = time.perf_counter()
        job.status = RUNNING
        try:
            if job._cancel.is_set():
                raise Cancelled
            job.result = work(job.report)
            job.status = DONE
        except Cancelled:
            job.status = CANCELLED
        except Exception as error:  # noqa: BLE001  (the page shows the reason; the server log keeps the traceback)
            traceback.print_exc()
            job.error = f"{type(error).__name__}: {error}"
            job.status = FAILED
        finally:
            job.finished = time.perf_counter()
