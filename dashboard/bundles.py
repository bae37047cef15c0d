"""The bundles every page reads: the reference ones verified and loaded once per process (public data, shared by
sessions, reloaded when a manifest changes on disk), or the session's own when the sidebar chooses them.

Pages are offered only the reference bundles whose every file matches its manifest (checked on the first page run
of the server process and again after a file changes); each damaged one is logged, named with its reason on the
About page, and in one line wherever a page would have used it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.logger import get_logger

from core.config import models_dir
from core.data.export import restore_formulas
from core.evaluation.evidence import (
    Evidence,
    best_architecture,
    evidence,
    evidence_file,
    reference_hash,
    stored_evidence,
)
from core.evaluation.held_out import HeldOutEvidence, held_out_of, independent_drug_evidence
from core.evaluation.reliability import DrugEvidence
from core.inference.bundle import BundleCheck, BundleError, ModelBundle, load_bundle, read_manifest
from core.inference.manifest import Manifest
from core.models import SPECS
from core.study_design import TARGET_COHORT, TRAINING_LABELS
from core.usecases.bundle_grid import app_slots, offered_bundles, reference_cohort
from core.usecases.bundle_grid import bundle_grid as grid_of
from dashboard.session import (
    is_session_bundle,
    session_bundles,
    session_cached,
    session_reference_expression,
    using_session_models,
)

ARCHITECTURES = {name: spec.label for name, spec in SPECS.items()}  # in menu order
LOG = get_logger(__name__)  # Streamlit's format and level, in the server's log


def reference_check() -> BundleCheck:
    """The reference bundles the app offers, each checked in full (every file's hash) on the first page run of
    the server process and again only after one of its files changes; what it found goes to the server log."""
    folder = models_dir()
    found = offered_bundles(folder, TARGET_COHORT)
    _log_check(str(folder), tuple(found.usable), tuple(found.unusable.items()))
    return found


@st.cache_resource(show_spinner=False)
def _log_check(folder: str, usable: tuple[str, ...], unusable: tuple[tuple[str, str], ...]) -> None:
    """Log a check's outcome once per server process and outcome (cached, as every page run checks)."""
    for name, reason in unusable:
        LOG.warning("Model bundle %s cannot be used: %s", name, reason)
    LOG.info("Model bundles in %s: %d usable, %d unusable.", folder, len(usable), len(unusable))


def reference_grid() -> dict[str, dict[str, str]]:
    """Architecture -> training -> name of the usable reference bundles on disk, whichever source is chosen."""
    return grid_of(reference_check().usable)


def bundle_label(name: str) -> str:
    """The menu name of a reference bundle ("ConvNN zero-shot"); the folder name itself for any other bundle."""
    architecture, training = app_slots(TARGET_COHORT).get(name, (None, None))
    if architecture is None:
        return name
    return f"{ARCHITECTURES.get(architecture, architecture)} {TRAINING_LABELS.get(training, training)}"


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


def reference_bundle(name: str) -> ModelBundle:
    """A verified reference bundle from disk, loaded once per process (reloaded if its manifest changes on disk)."""
    folder = models_dir() / name
    return load_from_disk(str(folder), manifest_stamp(folder))


def bundle(name: str) -> ModelBundle:
    """The session's bundle ``name`` when session models are chosen, else :func:`reference_bundle`."""
    if is_session_bundle(name):
        return session_bundles()[name]
    return reference_bundle(name)


@st.cache_data(show_spinner=False, max_entries=32)
def _evaluation(folder: str, stamp: float) -> tuple[Manifest, pd.DataFrame, pd.DataFrame]:
    manifest = read_manifest(Path(folder))
    benchmark_path = Path(folder) / "benchmark.csv"
    benchmark = restore_formulas(pd.read_csv(benchmark_path)) if benchmark_path.is_file() else pd.DataFrame()
    predictions = restore_formulas(pd.read_csv(Path(folder) / "reference_predictions.csv.gz", dtype={"sample": str}))
    return manifest, benchmark, predictions


def _reference_evaluation(name: str) -> tuple[Manifest, pd.DataFrame, pd.DataFrame]:
    folder = models_dir() / name
    return _evaluation(str(folder), manifest_stamp(folder))


def bundle_evaluation(name: str) -> tuple[Manifest, pd.DataFrame, pd.DataFrame]:
    """(verified manifest, benchmark, reference predictions) without loading the models."""
    if is_session_bundle(name):
        b = session_bundles()[name]
        return b.manifest, b.benchmark, b.reference_predictions
    return _reference_evaluation(name)


@st.cache_data(show_spinner=False, max_entries=32)
def _panel_genes(folder: str, stamp: float) -> list[str]:
    return list(read_manifest(Path(folder)).genes)  # verified: every file's hash, preprocessing.json included


def reference_panel(name: str) -> list[str]:
    """The genes a reference bundle reads, read from its verified manifest once per process."""
    folder = models_dir() / name
    return _panel_genes(str(folder), manifest_stamp(folder))


def bundle_genes(name: str) -> list[str]:
    """The genes a bundle reads, without loading its networks: the upload page's QC needs only the panel, and
    loading every bundle (TensorFlow import and nine ensembles) made its first visit take half a minute."""
    if is_session_bundle(name):
        return session_bundles()[name].genes
    return reference_panel(name)


@st.cache_data(show_spinner=False)
def _evidence_table(path: str, stamp: float) -> pd.DataFrame:
    """The precomputed evidence; empty when missing or unreadable (each bundle's is then computed once)."""
    try:
        return pd.read_csv(path)
    except (OSError, ValueError):
        return pd.DataFrame(columns=["bundle", "reference_sha256"])


@st.cache_data(show_spinner="Testing the model's ordering of organoids against shuffled ones...", max_entries=32)
def _computed_evidence(name: str, reference_sha256: str, _predictions: pd.DataFrame) -> Evidence:
    return evidence(_predictions)


def reference_evidence(name: str) -> Evidence:
    """A reference bundle's headline within-drug score and permutation p: precomputed
    (``training_scripts.build.bundle_evidence``), else computed once per process."""
    manifest, _, predictions = _reference_evaluation(name)
    path = evidence_file(models_dir())
    found = stored_evidence(_evidence_table(str(path), path.stat().st_mtime if path.is_file() else 0.0), name, manifest)
    return found or _computed_evidence(name, reference_hash(manifest), predictions)


def bundle_evidence(name: str) -> Evidence:
    """The bundle's evidence: :func:`reference_evidence`, or for a session's bundle computed once in its session."""
    if is_session_bundle(name):
        _, _, predictions = bundle_evaluation(name)
        return session_cached(("evidence", name), lambda: evidence(predictions))
    return reference_evidence(name)


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


def readable_evidence(name: str, evidence_of: Callable[[str], Evidence] = bundle_evidence) -> Evidence | None:
    """The bundle's evidence (``evidence_of``), or None for a bundle that cannot be read (reported where it is
    opened, not here)."""
    try:
        return evidence_of(name)
    except BundleError:
        return None


def reference_held_out(name: str) -> HeldOutEvidence | None:
    """A reference bundle's evidence on the held-out GDSC lines of its lineage (precomputed by
    ``training_scripts.build.bundle_evidence``); None for one never scored there or unreadable."""
    try:
        manifest, _, _ = _reference_evaluation(name)
    except BundleError:
        return None
    return _public_result(name, reference_hash(manifest), "held_out", lambda: held_out_of(models_dir(), name, manifest))


def held_out_evidence(name: str) -> HeldOutEvidence | None:
    """:func:`reference_held_out`; None for a session's bundle (scored on its own cohort only)."""
    return None if is_session_bundle(name) else reference_held_out(name)


def held_out_drug_evidence(name: str) -> DrugEvidence | None:
    """The per-drug held-out evidence that enters the bundle's drug reliability (only where its training never saw
    the held-out lines); None for a session's bundle."""
    if is_session_bundle(name):
        return None
    manifest, _, _ = _reference_evaluation(name)
    return _public_result(
        name,
        reference_hash(manifest),
        "held_out_drugs",
        lambda: independent_drug_evidence(models_dir(), name, manifest),
    )


def default_architecture(
    grid: dict[str, dict[str, str]],
    require: tuple[str, ...] = (),
    evidence_of: Callable[[str], Evidence | None] = readable_evidence,
) -> str | None:
    """The architecture whose ``require``d models (all, if none required) order organoids best
    (:func:`core.evaluation.evidence.best_architecture`), among those that have them all (all, if none has)."""
    complete = [a for a in grid if all(k in grid[a] for k in require)]
    found = {
        a: [evidence_of(name) for k, name in grid[a].items() if not require or k in require] for a in (complete or grid)
    }
    return best_architecture({a: [e for e in scored if e is not None] for a, scored in found.items()})


def no_bundles_message() -> None:
    if reference_check().unusable and not using_session_models():
        st.error("None of the model bundles can be used; the About page says why for each.")
        return
    _log_no_bundles(str(models_dir()))
    st.warning(
        "No drug-response models are installed on this server, so nothing can be ranked yet. Whoever runs the "
        "server can install them as the project's README says (its server log names the folder it looked in)."
    )


@st.cache_resource(show_spinner=False)
def _log_no_bundles(folder: str) -> None:
    """Where the bundles were looked for and how to provide them, once per server process: for the operator's log,
    not for a user's page."""
    LOG.warning(
        "No model bundles in %s: build them with `pdo-build-bundles` or set PDO_MODELS_DIR to a folder of bundles.",
        folder,
    )


def unusable_note(architecture: str | None = None, container: Any = st) -> None:
    """One line naming the reference bundles (of ``architecture``, or all) that a page would use but cannot; the
    reasons are on the About page. Nothing while the session's own models are chosen."""
    if using_session_models():
        return
    slots = app_slots(TARGET_COHORT)
    names = [name for name in reference_check().unusable if architecture is None or slots[name][0] == architecture]
    if names:
        container.warning(
            f"{len(names)} model bundle(s) cannot be used: {', '.join(bundle_label(name) for name in names)}. "
            "The About page says what is wrong with each.",
            icon=":material/error:",
        )


def load_or_stop(name: str) -> ModelBundle:
    """The bundle, or a plain error on the page (and the page stops) when it cannot be used."""
    try:
        return bundle(name)
    except BundleError as error:
        st.error(str(error))
        st.stop()
        raise  # unreachable; st.stop raises


def reference_expression(cohort: str = TARGET_COHORT) -> pd.DataFrame:
    """log2 expression of the reference cohort's organoids (public data), read once per process."""
    return _cohort_expression(cohort)


@st.cache_resource(show_spinner="Reading the reference organoids...")
def _cohort_expression(cohort: str) -> pd.DataFrame:
    """Cached with the cohort always passed: Streamlit keys a cache by the arguments as given, so a default left out
    made ``reference_expression()`` and ``reference_expression("colorectal")`` read the cohort twice (2-5 s each)."""
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
