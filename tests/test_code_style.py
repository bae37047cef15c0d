"""Lint and format checks as tests, so CI (which runs exactly ``python -m pytest``) fails on a lint finding or an
unformatted file like on a failing test.

The rules are ``[tool.ruff]`` in ``pyproject.toml``; ruff is pinned in ``requirements.txt`` so every machine lints
alike.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def ruff(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the pinned ruff on the whole repository, with the rules of ``pyproject.toml``."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *arguments, "."], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("arguments", "fix"),
    [
        (("check", "--output-format", "concise"), "ruff check . --fix"),
        (("format", "--check"), "ruff format ."),
    ],
    ids=["lint", "format"],
)
def test_ruff_finds_nothing(arguments: tuple[str, ...], fix: str) -> None:
    result = ruff(*arguments)
    assert (
        result.returncode == 0
    ), f"ruff {' '.join(arguments)} found problems (fix with `{fix}`):\n{result.stdout}{result.stderr}"
