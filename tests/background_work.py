"""Work functions for the background-job tests, in a module that imports nothing heavy.

A background job runs in a spawned process that imports the module of its work function; a test module importing
TensorFlow and Streamlit made every spawned worker take 10-30 s to start on a busy machine, for a job of a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def count_slowly(progress: Callable[[int], None], n: int) -> str:
    for i in range(n):
        progress(i)
        time.sleep(0.01)
    return "finished"


def divide(progress: Callable[[int], None], a: int, b: int) -> float:
    return a / b


def write_file(progress: Callable[[int], None], path: str) -> None:
    Path(path).write_text("uploaded data")
