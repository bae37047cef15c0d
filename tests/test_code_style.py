"""Lint and format checks as tests, so CI (which runs exactly ``python -m pytest``) fails on a lint finding or an
unformatted file like on a failing test.

The rules are ``[tool.ruff]`` in ``pyproject.toml``; ruff is pinned in ``requirements.txt`` so every machine lints
alike.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (
        result.returncode == 0
    ), f"ruff check found problems (fix with `ruff check . --fix`):\n{result.stdout}{result.stderr}"


def test_code_is_formatted() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (
        result.returncode == 0
    ), f"ruff format would change files (run `ruff format .`):\n{result.stdout}{result.stderr}"
