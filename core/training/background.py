"""Run a long training in a separate process, so the dashboard that started it stays fast and it stays fast.

Streamlit re-runs a page's script on every click and stops the run in progress, so training inside the
script would block the session (and any click would abort it). A thread was not enough either: the
server's Python work (a full garbage collection after every script run, the page's progress refresh)
held the interpreter lock that the training thread needed, and a 15 s training took 30-300 s with its
progress page open; a server stopped mid-training aborted in TensorFlow's threads. A
:class:`BackgroundJob` therefore runs the work in a fresh (spawned) process: it shares no interpreter
with the server, stops at once when asked (the process is terminated), and dies with the server.

The work and its arguments cross to the process by pickling, so ``work`` is a module-level function;
progress events and the result come back the same way. The worker process refuses to open files for
writing: what a user uploads is never written to disk, and a worker cannot break that by accident.

One training runs at a time per server process: on a 2-core machine two side by side would each take
twice as long, so a second one waits (status ``queued``) until the first ends.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec
from typing import Any

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
_ONE_AT_A_TIME = threading.Lock()
_SPAWN = multiprocessing.get_context("spawn")  # never fork a process that holds TensorFlow's threads
_LOG = logging.getLogger(__name__)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


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
    _process: Any = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def seconds(self) -> float:
        """Running time so far (or in total, once finished)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    def cancel(self) -> None:
        """Stop now: the worker process is terminated and the job reads ``cancelled`` when this returns."""
        self._cancel.set()
        if self.active:
            self.status = CANCELLED
            self.finished = time.perf_counter()
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()


def start(work: Callable[..., Any], args: tuple, name: str) -> BackgroundJob:
    """Run ``work(progress, *args)`` in a new process and return its job at once.

    ``progress(event)`` hands a progress event to the job (``job.progress``); ``work``, ``args``, the events
    and the result must be picklable.
    """
    job = BackgroundJob()
    threading.Thread(target=_supervise, args=(job, work, args, name), name=name, daemon=True).start()
    return job


def _supervise(job: BackgroundJob, work: Callable[..., Any], args: tuple, name: str) -> None:
    """Server side: start the worker once no other runs, relay its messages into ``job``, note how it ended."""
    with _ONE_AT_A_TIME:
        if job._cancel.is_set():
            return
        receiver, sender = _SPAWN.Pipe(duplex=False)
        process = _SPAWN.Process(target=_worker, args=(sender, work, args), name=name, daemon=True)
        job.started = time.perf_counter()
        job.status = RUNNING
        with _main_module_not_run_again():
            process.start()
        job._process = process
        sender.close()  # the worker holds the only sending end: a dead worker ends recv() with EOFError
        if job._cancel.is_set():
            process.terminate()
        outcome = None
        while outcome is None:
            try:
                kind, payload = receiver.recv()
            except (EOFError, OSError):
                break
            if kind == "progress":
                job.progress = payload
            else:
                outcome = kind, payload
        process.join()
        receiver.close()
        if job._cancel.is_set():
            return
        job.finished = time.perf_counter()
        if outcome is None:
            _LOG.warning("Worker %s ended without a result (exit code %s)", name, process.exitcode)
            job.error = unexpected_end_message(process.exitcode)
            job.status = FAILED
        elif outcome[0] == DONE:
            job.result, job.status = outcome[1], DONE
        else:
            job.error, job.status = outcome[1], FAILED


_NO_SPEC = object()


@contextmanager
def _main_module_not_run_again() -> Iterator[None]:
    """While a worker starts, ``__main__`` says by its spec that a spawned process must not run it again.

    A spawned child first runs its parent's ``__main__`` from that module's file unless the module's spec names it
    ``__main__``. Under Streamlit, ``__main__`` is the app script of the run that started the training (Streamlit
    installs each run's script module there, with no spec), so every worker ran the whole app once more, in a
    process without a Streamlit session: some 29 "missing ScriptRunContext" warnings in the server log per
    training, and the app's imports before the training began. The worker needs nothing from it (its work is a
    function of a module it imports). The spec is put back at once, and only the attribute changes, so a script
    run starting meanwhile keeps its own ``__main__``.
    """
    main = sys.modules["__main__"]
    earlier = main.__dict__.get("__spec__", _NO_SPEC)
    if earlier is not None and earlier is not _NO_SPEC:  # a real spec: the child handles it already
        yield
        return
    main.__spec__ = ModuleSpec("__main__", None)
    try:
        yield
    finally:
        if earlier is _NO_SPEC:
            del main.__spec__
        else:
            main.__spec__ = earlier


def unexpected_end_message(exit_code: int | None) -> str:
    """What the page says when the worker died without a word: what happened, that nothing was kept, what to do.

    A negative exit code is the signal that ended it: SIGKILL is what the kernel's out-of-memory killer
    sends, SIGKILL or SIGTERM what a stopping server or an administrator sends. The code itself means nothing
    to a clinician, so it goes to the server log only.
    """
    if exit_code in (-signal.SIGKILL, -signal.SIGTERM):
        cause = (
            "The training process was stopped by the system, for example because the server ran out of memory "
            "or was being restarted."
        )
    else:
        cause = "The training process stopped unexpectedly (it crashed)."
    return (
        f"{cause} Nothing from this training was kept. Start it again; if it stops again, try a smaller cohort "
        "or fewer epochs, or ask the server's administrator to check its memory."
    )


def _worker(sender, work: Callable[..., Any], args: tuple) -> None:
    """Worker side: run the work with file writes refused, send progress, then the result or the error."""
    sys.addaudithook(_refuse_file_writes)
    try:
        result = work(lambda event: sender.send(("progress", event)), *args)
    except Exception as error:  # noqa: BLE001  (the page shows the reason; stderr keeps the traceback)
        traceback.print_exc()
        sender.send((FAILED, f"{type(error).__name__}: {error}"))
    else:
        sender.send((DONE, result))
    finally:
        sender.close()


def _refuse_file_writes(event: str, args: tuple) -> None:
    if event != "open" or isinstance(args[0], int):
        return
    _, mode, flags = args
    if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & _WRITE_FLAGS):
        raise PermissionError(f"the training process writes no files (tried to open {args[0]!r} for writing)")
