"""The bundles every page reads: the reference ones verified and loaded once per process (public data, shared by
sessions, reloaded when a manifest changes on disk), or the session's own when the sidebar chooses them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.bundle_grid import app_bundles, reference_cohort
from core.bundle_grid import bundle_grid as grid_of
from core.config import models_dir
from core.data.export import restore_formulas
from core.evaluation.evidence import (
    Evidence,
    evidence,
    evidence_file,
    reference_hash,
    stored_evidence,
)
from core.inference.bundle import BundleError, ModelBundle, load_bundle, read_manifest
from core.inference.manifest import Manifest
from core.models import SPECS
from core.study_design import TARGET_COHORT
from dashboard.session import (
    is_session_bundle,
    session_bundles,
    session_cached,
    session_reference_expression,
    using_session_models,
)

ARCHITECTURES = {name: spec.label for name, spec in SPECS.items()}  # in menu order


def reference_grid() -> dict[str, dict[str, str]]:
    """Architecture -> training -> name of the reference bundles on disk, whichever source is chosen."""
    return grid_of(app_bundles(models_dir(), TARGET_COHORT))


def bundle_grid() -> dict[str, dict[str, str]]:
    """Architecture -> training -> bundle name, for the bundles of the chosen source (see :func:`using_session_models`)."""
    if using_session_models():
        return grid_of({name: b.manifest for name, b in session_bundles().items()})
    return reference_grid()


def manifest_stamp(folder: Path) -> float:
    """When a bundle's manifest last changed: part of every cache key, so a rebuilt bundle is read again."""
    manifest = folder / "manifest.json"
    return manifest.stat().st_mtime if manifest.is_file() else 0.0


@st.cache_resource(show_spinner="Loading the model bundle...", max_entries=12)
def load_from_disk(folder: str, stamp: float) -> ModelBundle:
    """A verified bundle, once per process and manifest version (``stamp``: :func:`manifest_stamp`)."""
    return load_bundle(Path(folder))


def bundle(name: str) -> ModelBundle:
    """The session's bundle ``name`` when session models are chosen, else a verified bundle from disk,
    loaded once per process (reloaded if its manifest changes on disk)."""
    if is_session_bundle(name):
        return session_bundles()[name]
    folder = models_dir() / name
    return load_from_disk(str(folder), manifest_stamp(folder))


@st.cache_data(show_spinner=False, max_entries=32)
def _evaluation(folder: str, stamp: float) -> tuple[Manifest, pd.DataFrame, pd.DataFrame]:
    manifest = read_manifest(Path(folder))
    benchmark_path = Path(folder) / "benchmark.csv"
    benchmark = restore_formulas(pd.read_csv(benchmark_path)) if benchmark_path.is_file() else pd.DataFrame()
    predictions = restore_formulas(pd.read_csv(Path(folder) / "reference_predictions.csv.gz", dtype={"sample": str}))
    return manifest, benchmark, predictions


def bundle_evaluation(name: str) -> tuple[Manifest, pd.DataFrame, pd.DataFrame]:
    """(verified manifest, benchmark, reference predictions) without loading the models."""
    if is_session_bundle(name):
        b = session_bundles()[name]
        return b.manifest, b.benchmark, b.reference_predictions
    folder = models_dir() / name
    return _evaluation(str(folder), manifest_stamp(folder))


@st.cache_data(show_spinner=False, max_entries=32)
def _panel_genes(folder: str, stamp: float) -> list[str]:
    return list(read_manifest(Path(folder)).genes)  # verified: every file's hash, preprocessing.json included


def bundle_genes(name: str) -> list[str]:
    """The genes a bundle reads, without loading its networks: the upload page's QC needs only the panel, and
    loading every bundle (TensorFlow import and nine ensembles) made its first visit take half a minute."""
    if is_session_bundle(name):
        return session_bundles()[name].genes
    folder = models_dir() / name
    return _panel_genes(str(folder), manifest_stamp(folder))


@st.cache_data(show_spinner=False)
def _evidence_table(path: str, stamp: float) -> pd.DataFrame:
    return pd.read_csv(path) if Path(path).is_file() else pd.DataFrame(columns=["bundle", "reference_sha256"])


@st.cache_data(show_spinner="Testing the model's ordering of organoids against shuffled ones...", max_entries=32)
def _computed_evidence(name: str, reference_sha256: str, _predictions: pd.DataFrame) -> Evidence:
    return evidence(_predictions)


def bundle_evidence(name: str) -> Evidence:
    """The bundle's headline within-drug score and permutation p: precomputed for the reference bundles
    (``training_scripts.bundle_evidence``), computed once otherwise (a session's bundle: in its session only)."""
    manifest, _, predictions = bundle_evaluation(name)
    if is_session_bundle(name):
        return session_cached(("evidence", name), lambda: evidence(predictions))
    path = evidence_file(models_dir())
    found = stored_evidence(_evidence_table(str(path), path.stat().st_mtime if path.is_file() else 0.0), name, manifest)
    return found or _computed_evidence(name, reference_hash(manifest), predictions)


@st.cache_data(show_spinner=False, max_entries=64)
def _public_result(name: str, reference_sha256: str, key: Hashable, _compute: Callable[[], Any]) -> Any:
    return _compute()


def bundle_cached(name: str, key: Hashable, compute: Callable[[], Any]) -> Any:
    """Memoise something derived from a bundle's reference predictions: once per process for a reference
    bundle (public data, keyed by the hash of its predictions), in this session only for the session's own."""
    if is_session_bundle(name):
        return session_cached(("bundle", name, key), compute)
    manifest, _, _ = bundle_evaluation(name)
    return _public_result(name, reference_hash(manifest), key, compute)


def readable_evidence(name: str) -> Evidence | None:
    """The bundle's evidence, or None for a bundle that cannot be read (reported where it is opened, not here)."""
    try:
        return bundle_evidence(name)
    except BundleError:
        return None


def no_bundles_message() -> None:
    st.warning(
        f"No model bundles found in `{models_dir()}`. Build them with `python -m training_scripts.build_bundles` "
        "or point `PDO_MODELS_DIR` at a folder of bundles."
    )


def load_or_stop(name: str) -> ModelBundle:
    """The bundle, or a plain error on the page (and the page stops) when it cannot be used."""
    try:
        return bundle(name)
    except BundleError as error:
        st.error(str(error))
        st.stop()
        raise  # unreachable; st.stop raises


@st.cache_resource(show_spinner="Reading the reference organoids...")
def reference_expression(cohort: str = TARGET_COHORT) -> pd.DataFrame:
    """log2 expression of the reference cohort's organoids (public data)."""
    from core.data.registry import load_cohort

    return load_cohort(cohort).expression


def n_reference(b: ModelBundle) -> int:
    return int(b.reference_predictions["sample"].nunique())


def bundle_reference_expression(bundle_name: str) -> pd.DataFrame | None:
    """Expression of a bundle's reference cohort (public data, or the session's own cohort); None for a session
    bundle loaded from a file, whose cohort's expression is not part of the bundle."""
    if not is_session_bundle(bundle_name):
        return reference_expression(reference_cohort(bundle(bundle_name).manifest))
    return session_reference_expression(bundle_name)
