"""Shared fixtures: cohorts are loaded once per test session because GDSC takes seconds to read.

The dashboard's tiny bundles and the browser's server come from the plugin modules below, so test modules
use those fixtures without importing them. Every test that needs the tiny bundles is marked ``slow``: building
them trains models.
"""

from __future__ import annotations

from collections import Counter

import pytest

from core.data.cohort import Cohort
from core.data.registry import load_cohort

pytest_plugins = ["dashboard_fixtures", "browser_fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` whatever needs the tiny bundles, so the quick subset never trains them; then order the files for
    pytest-xdist: files with browser tests first (the longest tests), one that needs no tiny bundles before the
    others (a worker runs it while the other builds them), then the files with the most tests.

    ``--dist loadfile --no-loadscope-reorder`` (pyproject.toml) hands whole files to the two workers in this order,
    each taking the next file when it is nearly done: long files first, so that neither worker is left with a long
    file at the end while the other has finished."""
    files = [item.nodeid.split("::")[0] for item in items]
    tiny = set()
    for file, item in zip(files, items):
        if "tiny_models_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
            tiny.add(file)
    browser = {file for file, item in zip(files, items) if item.get_closest_marker("browser")}
    size = Counter(files)
    order = {file: (file not in browser, file in browser and file in tiny, -size[file]) for file in size}
    items[:] = [item for _, item in sorted(zip(files, items), key=lambda pair: order[pair[0]])]  # stable sort


@pytest.fixture(scope="session")
def gdsc1() -> Cohort:
    return load_cohort("gdsc1")


@pytest.fixture(scope="session")
def colorectal() -> Cohort:
    return load_cohort("colorectal")
