"""Shared fixtures: cohorts are loaded once per test session because GDSC takes seconds to read."""
from __future__ import annotations

import pytest

from core.data.cohort import Cohort
from core.data.registry import load_cohort


@pytest.fixture(scope="session")
def gdsc1() -> Cohort:
    return load_cohort("gdsc1")


@pytest.fixture(scope="session")
def colorectal() -> Cohort:
    return load_cohort("colorectal")
