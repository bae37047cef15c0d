"""Shared fixtures: cohorts are loaded once per test session because GDSC takes seconds to read.

The dashboard's tiny bundles and the browser's server come from the plugin modules below, so test modules
use those fixtures without importing them. Every test that needs the tiny bundles is marked ``slow``: building
them trains models.
"""

from __future__ import annotations

import pytest

from core.data.cohort import Cohort
from core.data.registry import load_cohort

pytest_plugins = ["dashboard_fixtures", "browser_fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` whatever needs the tiny bundles, so the quick subset never trains them."""
    for item in items:
        if "tiny_models_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def gdsc1() -> Cohort:
    return load_cohort("gdsc1")


@pytest.fixture(scope="session")
def colorectal() -> Cohort:
    return load_cohort("colorectal")
