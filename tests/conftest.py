"""Shared fixtures: cohorts are loaded once per test session because GDSC takes seconds to read.

The dashboard's tiny bundles and the browser's server come from the plugin modules below, so test modules
use those fixtures without importing them.
"""
from __future__ import annotations

import pytest

from core.data.cohort import Cohort
from core.data.registry import load_cohort

pytest_plugins = ["dashboard_fixtures", "browser_fixtures"]


@pytest.fixture(scope="session")
def gdsc1() -> Cohort:
    return load_cohort("gdsc1")


@pytest.fixture(scope="session")
def colorectal() -> Cohort:
    return load_cohort("colorectal")
