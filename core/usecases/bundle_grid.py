"""Which model bundles the app offers, and how they are laid out: architecture -> training -> bundle name.

The app shows one target cohort's bundles, named ``<target cohort>_<model>_<training>``; experimental
bundles with other names (a panel bundle, a bundle of another cohort) stay on disk but are not offered.
Menus list architectures in the model registry's order and trainings in :data:`TRAININGS`; anything
unknown follows in the order found. Only bundles whose every file matches its manifest are offered; each
other one under an app bundle's name is reported with its reason, so one damaged bundle hides nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from core.inference.bundle import BundleCheck, check_bundles
from core.inference.manifest import Manifest
from core.models import SPECS
from core.study_design import TARGET_COHORT, TRAININGS, bundle_name

Grid = dict[str, dict[str, str]]  # architecture -> training -> bundle name


def app_slots(cohort: str = TARGET_COHORT) -> dict[str, tuple[str, str]]:
    """Bundle name -> (architecture, training) of every bundle the app would offer for ``cohort``."""
    return {
        bundle_name(cohort, architecture, training): (architecture, training)
        for architecture in SPECS
        for training in TRAININGS
    }


def offered_bundles(folder: Path, cohort: str = TARGET_COHORT) -> BundleCheck:
    """The bundles in ``folder`` that the app offers (checked in full, see :func:`check_bundles`), and why each
    other folder under the name of an app bundle cannot be used."""
    found, slots = check_bundles(folder), app_slots(cohort)
    usable, unusable = {}, {name: reason for name, reason in found.unusable.items() if name in slots}
    for name, manifest in found.usable.items():
        if manifest.target_cohort == cohort and name == bundle_name(cohort, manifest.architecture, manifest.training):
            usable[name] = manifest
        elif name in slots:
            unusable[name] = (
                f"Bundle {name} holds a {manifest.architecture} {manifest.training} model of "
                f"{manifest.target_cohort}, not the model its folder is named after; rebuild it or restore it "
                "from the repository."
            )
    return BundleCheck(usable, unusable)


def app_bundles(folder: Path, cohort: str = TARGET_COHORT) -> dict[str, Manifest]:
    """Bundle name -> verified manifest of the usable bundles in ``folder`` that the app offers."""
    return offered_bundles(folder, cohort).usable


def bundle_grid(manifests: Mapping[str, Manifest]) -> Grid:
    """Architecture -> training -> bundle name, in menu order."""
    grid: Grid = {}
    for name, manifest in manifests.items():
        grid.setdefault(manifest.architecture, {})[manifest.training] = name

    def position(key: str, keys: list[str]) -> int:
        return keys.index(key) if key in keys else len(keys)

    architectures, training_order = list(SPECS), list(TRAININGS)
    return {
        architecture: dict(sorted(trainings.items(), key=lambda item: position(item[0], training_order)))
        for architecture, trainings in sorted(grid.items(), key=lambda item: position(item[0], architectures))
    }


def reference_cohort(manifest: Manifest) -> str:
    """The cohort whose organoids a bundle's z-scores and gene rankings are relative to: the one it was trained on."""
    return manifest.target_cohort
