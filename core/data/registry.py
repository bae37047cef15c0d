"""Dataset names -> loaders, so scripts and the app can ask for a cohort by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from core.data.cohort import Cohort
from core.data.datasets.colorectal import load_colorectal
from core.data.datasets.gdsc import load_gdsc
from core.data.datasets.prasse_pairs import SPECS, load_prasse_pairs

DATASETS: dict[str, Callable[[], Cohort]] = {
    "gdsc1": partial(load_gdsc, "GDSC1", "auc"),
    "gdsc1_ln_ic50": partial(load_gdsc, "GDSC1", "ln_ic50"),
    "gdsc2": partial(load_gdsc, "GDSC2", "auc"),
    "colorectal": load_colorectal,
    **{name: partial(load_prasse_pairs, name) for name in SPECS},
}


def load_cohort(name: str) -> Cohort:
    """The cohort registered as ``name``; a clear error lists the known names."""
    if name not in DATASETS:
        raise KeyError(f"Unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]()
