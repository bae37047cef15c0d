"""What every dashboard page shares: bundle loading, the uploaded profile in session state, model choices.

No science lives here: predictions, attributions and scores come from ``core``. Uploaded data stay in
``st.session_state`` of the browser session that uploaded them: never written to disk, never put in a
cache shared between sessions (``st.cache_data``/``st.cache_resource`` hold only public data: bundles,
the reference cohort and its attributions).

Two sources of models: the reference bundles in ``models_dir()`` (public, loaded once per process) and
the session's own bundles, fine-tuned on a cohort the user uploaded or loaded from a bundle zip (held in
``st.session_state`` only). The sidebar's model picker says which one every page uses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from core.bundle_grid import app_bundles, reference_cohort
from core.bundle_grid import bundle_grid as grid_of
from core.config import models_dir
from core.evaluation.evidence import (
    Evidence,
    best_architecture,
    evidence,
    evidence_file,
    reference_hash,
    stored_evidence,
)
from core.inference.bundle import BundleError, ModelBundle, load_bundle, read_manifest
from core.inference.manifest import Manifest
from core.models import SPECS
from core.stored_explanations import GENES_SHOWN, stored_gene_ranking, stored_ranked_pathways
from core.study_design import TARGET_COHORT, TRAINING_TITLES
from core.upload import ValidatedProfile

if TYPE_CHECKING:  # imported where used: TensorFlow-free pages need not load the explanation code
    from core.explain.precomputed import ReferenceExplanations

ARCHITECTURES = {name: spec.label for name, spec in SPECS.items()}  # in menu order
PROFILE, PROFILE_ID, SAMPLE, DRUG, ARCH, TRAINING = (
    "profile",
    "profile_id",
    "sample",
    "drug",
    "architecture",
    "training",
)
MODEL_SOURCE, REFERENCE_MODELS, SESSION_MODELS = "model_source", "reference", "session"
_MODEL_SOURCE_WIDGET = "model_source_widget"
_CACHE = "_session_cache"
_SESSION_BUNDLES = "_session_bundles"  # bundle name -> ModelBundle, this session only
ATTRIBUTION_VIEW = "attribution_view"  # remembered across the genes and pathways pages
_SESSION_REFERENCE = "_session_reference_expression"  # bundle name -> its reference cohort's expression
_ids = itertools.count(1)
# Uploaders take any file: the library's checks then say in plain words why a wrong one cannot be used (a type
# filter would only show a red chip with its reason on hover).
UPLOAD_HELP = "CSV, TSV, TXT or XLSX, optionally gzipped; any other file gets a plain reason on the page."


# ---------------------------------------------------------------- bundles (public, shared by sessions)


def reference_grid() -> dict[str, dict[str, str]]:
    """Architecture -> training -> name of the reference bundles on disk, whichever source is chosen."""
    return grid_of(app_bundles(models_dir(), TARGET_COHORT))


def bundle_grid() -> dict[str, dict[str, str]]:
    """Architecture -> training -> bundle name, for the bundles of the chosen source (see :func:`using_session_models`)."""
    if using_session_models():
        return grid_of({name: b.manifest for name, b in session_bundles().items()})
    return reference_grid()


def _stamp(folder: Path) -> float:
    manifest = folder / "manifest.json"
    return manifest.stat().st_mtime if manifest.is_file() else 0.0


@st.cache_resource(show_spinner="Loading the model bundle...", max_entries=12)
def _load(folder: str, stamp: float) -> ModelBundle:
    return load_bundle(Path(folder))


def bundle(name: str) -> ModelBundle:
    """The session's bundle ``name`` when session models are chosen, else a verified bundle from disk,
    loaded once per process (reloaded if its manifest changes on disk)."""
    if is_session_bundle(name):
        return session_bundles()[name]
    folder = models_dir() / name
    return _load(str(folder), _stamp(folder))


@st.cache_data(show_spinner=False, max_entries=32)
def _evaluation(folder: str, stamp: float) -> tuple[Manifest, pd.DataFrame, pd.DataFrame]:
    manifest = read_manifest(Path(folder))
    benchmark_path = Path(folder) / "benchmark.csv"
    benchmark = pd.read_csv(benchmark_path) if benchmark_path.is_file() else pd.DataFrame()
    predictions = pd.read_csv(Path(folder) / "reference_predictions.csv.gz", dtype={"sample": str})
    return manifest, benchmark, predictions


def bundle_evaluation(name: str) -> tuple[Manifest, pd.DataFrame, pd.DataFrame]:
    """(verified manifest, benchmark, reference predictions) without loading the models."""
    if is_session_bundle(name):
        b = session_bundles()[name]
        return b.manifest, b.benchmark, b.reference_predictions
    folder = models_dir() / name
    return _evaluation(str(folder), _stamp(folder))


@st.cache_data(show_spinner=False, max_entries=32)
def _panel_genes(folder: str, stamp: float) -> list[str]:
    return list(read_manifest(Path(folder)).genes)  # verified: every file's hash, preprocessing.json included


def bundle_genes(name: str) -> list[str]:
    """The genes a bundle reads, without loading its networks: the upload page's QC needs only the panel, and
    loading every bundle (TensorFlow import and nine ensembles) made its first visit take half a minute."""
    if is_session_bundle(name):
        return session_bundles()[name].genes
    folder = models_dir() / name
    return _panel_genes(str(folder), _stamp(folder))


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


def show_evidence(name: str, container: Any = st) -> Evidence:
    """The bundle's verdict in a coloured box: red when it orders organoids no better than a drug's average,
    amber when chance could explain its ordering, green otherwise."""
    found = bundle_evidence(name)
    box = (
        container.success if found.orders_samples else container.error if found.within_drug <= 0 else container.warning
    )
    box(found.verdict(), icon=":material/verified:" if found.orders_samples else ":material/warning:")
    return found


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


# ---------------------------------------------------------------- the session's own bundles


def session_bundles() -> dict[str, ModelBundle]:
    """Bundles trained on this session's uploaded cohort or loaded from a zip in this session."""
    return st.session_state.get(_SESSION_BUNDLES, {})


def add_session_bundles(bundles: list[ModelBundle], reference: pd.DataFrame | None) -> None:
    """Keep ``bundles`` for this session only and switch every page to them.

    ``reference``: expression of the cohort they were trained on (for its gene rankings); None for bundles
    loaded from a file, which hold predictions but no expression.
    """
    store = st.session_state.setdefault(_SESSION_BUNDLES, {})
    references = st.session_state.setdefault(_SESSION_REFERENCE, {})
    for b in bundles:
        store[b.name] = b
        references[b.name] = reference
    st.session_state[MODEL_SOURCE] = SESSION_MODELS
    st.session_state.pop(_MODEL_SOURCE_WIDGET, None)  # else the sidebar keeps showing an earlier choice
    st.session_state[_CACHE] = {}  # rankings of an earlier bundle under the same name are stale


def attach_reference_expression(name: str, expression: pd.DataFrame) -> None:
    """Give a session bundle loaded from a file its cohort's expression again (for the cohort's gene rankings)."""
    st.session_state.setdefault(_SESSION_REFERENCE, {})[name] = expression


def using_session_models() -> bool:
    return bool(session_bundles()) and st.session_state.get(MODEL_SOURCE) == SESSION_MODELS


def is_session_bundle(name: str) -> bool:
    return using_session_models() and name in session_bundles()


def has_reference_expression(name: str) -> bool:
    """False only for a session bundle loaded from a file: its cohort's expression is not part of a bundle."""
    return not is_session_bundle(name) or st.session_state.get(_SESSION_REFERENCE, {}).get(name) is not None


def model_source_picker() -> None:
    """Sidebar: reference bundles or this session's own (shown once the session has some)."""
    if not session_bundles():
        return
    labels = {REFERENCE_MODELS: "Reference (colorectal organoids)", SESSION_MODELS: "Your cohort (this session)"}
    remembered_choice(
        "Models used on every page",
        list(labels),
        MODEL_SOURCE,
        _MODEL_SOURCE_WIDGET,
        format_func=labels.get,
        container=st.sidebar,
    )


# Fields of the fine-tuning page a user expects to find as left after looking at other pages during training.
FINETUNE_FIELDS = (
    "finetune_label",
    "finetune_metric",
    "finetune_direction",
    "finetune_architecture",
    "finetune_batch",
    "finetune_epochs",
    "finetune_folds",
)


def keep_widget_values(keys: tuple[str, ...] = FINETUNE_FIELDS) -> None:
    """Keep widget values while another page is shown (called by the entry point on every run).

    Streamlit forgets a widget's value after a run that does not draw it; assigning the value to itself
    keeps it. Only plain input widgets may be listed: buttons and file uploaders refuse assignment.
    """
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


# ---------------------------------------------------------------- the session's profile


def set_profile(profile: ValidatedProfile, source: str) -> None:
    """Keep a validated profile for this browser session only, replacing any earlier one."""
    st.session_state[PROFILE] = profile
    st.session_state["profile_source"] = source
    st.session_state[PROFILE_ID] = next(_ids)
    st.session_state[_CACHE] = {}


def clear_profile() -> None:
    for key in (PROFILE, "profile_source", PROFILE_ID, _CACHE, "upload_file_id", "report_html"):
        st.session_state.pop(key, None)


def profile() -> ValidatedProfile | None:
    return st.session_state.get(PROFILE)


def samples() -> list[str]:
    current = profile()
    return [] if current is None else [str(s) for s in current.expression.index]


def current_sample() -> str | None:
    names = samples()
    if not names:
        return None
    chosen = st.session_state.get(SAMPLE)
    return chosen if chosen in names else names[0]


def sample_expression(sample: str) -> pd.DataFrame:
    """One sample of the uploaded profile (one row); genes it lacks stay NaN and the models set them to
    the reference mean (see ``ExpressionPreprocessor.transform``)."""
    current = profile()
    assert current is not None
    return current.expression.loc[[sample]]


def session_cached(key: Hashable, compute: Callable[[], Any]) -> Any:
    """Memoise a result derived from the uploaded profile in this session only."""
    cache = st.session_state.setdefault(_CACHE, {})
    full_key = (st.session_state.get(PROFILE_ID), key)
    if full_key not in cache:
        cache[full_key] = compute()
    return cache[full_key]


def sample_picker() -> None:
    """Sidebar: which organoid of the profile later pages show (rendered by the entry point, so the
    choice survives page changes)."""
    names = samples()
    st.sidebar.markdown("**Current organoid**")
    if not names:
        st.sidebar.caption("None yet: upload a profile on *Upload & QC*.")
        return
    if st.session_state.get(SAMPLE) not in names:
        st.session_state[SAMPLE] = names[0]
    st.sidebar.selectbox("Organoid shown on every page", names, key=SAMPLE)
    source = st.session_state.get("profile_source", "")
    st.sidebar.caption(f"{len(names)} organoid(s) from {source}")


def require_profile() -> str:
    """The current sample, or a pointer to the upload page (and the page stops)."""
    sample = current_sample()
    if sample is None:
        st.info("No organoid profile yet. Upload one (or pick a reference organoid as a demo) first.")
        st.page_link("views/upload.py", label="Go to Upload & QC", icon=":material/upload:")
        st.stop()
    return sample  # type: ignore[return-value]


# ---------------------------------------------------------------- choices that persist across pages


def remembered_choice(
    label: str,
    options: list[Any],
    state_key: str,
    widget_key: str,
    format_func: Callable[[Any], str] = str,
    horizontal: bool = False,
    default: Any = None,
    container: Any = st,
) -> Any:
    """A select box / radio whose value is remembered across pages under ``state_key``."""
    if not options:
        return None
    remembered = st.session_state.get(state_key, default)
    index = options.index(remembered) if remembered in options else 0
    if horizontal:
        value = container.radio(label, options, index=index, format_func=format_func, horizontal=True, key=widget_key)
    else:
        value = container.selectbox(label, options, index=index, format_func=format_func, key=widget_key)
    st.session_state[state_key] = value
    return value


def choose_architecture(widget_key: str, container: Any = st, require: tuple[str, ...] = ()) -> str | None:
    """Architecture menu; until the user picks one, the architecture whose ``require``d models (all, if none
    required) order organoids best (:func:`core.evaluation.evidence.best_architecture`)."""
    grid = bundle_grid()
    options = [a for a in grid if all(k in grid[a] for k in require)] or list(grid)
    found = {a: [readable_evidence(grid[a][k]) for k in (require or grid[a])] for a in options}
    default = best_architecture({a: [e for e in scored if e is not None] for a, scored in found.items()})
    return remembered_choice(
        "Architecture",
        options,
        ARCH,
        widget_key,
        lambda a: ARCHITECTURES.get(a, a),
        horizontal=True,
        default=default,
        container=container,
    )


def choose_training(architecture: str, widget_key: str, container: Any = st) -> str | None:
    trainings = [k for k in TRAINING_TITLES if k in bundle_grid().get(architecture, {})]
    return remembered_choice(
        "Model", trainings, TRAINING, widget_key, lambda k: TRAINING_TITLES[k], default="finetuned", container=container
    )


def choose_drug(drugs: list[str], widget_key: str, container: Any = st, default: str | None = None) -> str | None:
    return remembered_choice(
        "Drug", sorted(drugs, key=str.lower), DRUG, widget_key, default=default, container=container
    )


def csv_bytes(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode("utf-8")


# ---------------------------------------------------------------- gene attributions


def bundle_reference_expression(bundle_name: str) -> pd.DataFrame | None:
    """Expression of a bundle's reference cohort (public data, or the session's own cohort); None for a session
    bundle loaded from a file, whose cohort's expression is not part of the bundle."""
    if not is_session_bundle(bundle_name):
        return reference_expression(reference_cohort(bundle(bundle_name).manifest))
    return st.session_state.get(_SESSION_REFERENCE, {}).get(bundle_name)


@st.cache_data(show_spinner=False, max_entries=64)
def _reference_genes(folder: str, stamp: float, drug: str, view: str) -> pd.DataFrame:
    from core.explain.bundle_attributions import reference_attributions

    b = _load(folder, stamp)
    return reference_attributions(b, reference_expression(reference_cohort(b.manifest)), drug, view)


@st.cache_data(show_spinner=False, max_entries=16)
def precomputed_explanations(bundle_name: str, stamp: float, explanation_stamp: float) -> ReferenceExplanations | None:
    """Reference explanations written at build time (``core.explain.precomputed``), if present and current."""
    from core.explain.precomputed import load_reference_explanations

    return load_reference_explanations(models_dir(), bundle_name)


def reference_explanations(bundle_name: str) -> ReferenceExplanations | None:
    """The precomputed ``ReferenceExplanations`` of a reference bundle, or None (session bundle, or not built)."""
    if is_session_bundle(bundle_name):
        return None
    from core.explain.precomputed import explanation_dir

    explanation = explanation_dir(models_dir(), bundle_name) / "manifest.json"
    return precomputed_explanations(
        bundle_name, _stamp(models_dir() / bundle_name), explanation.stat().st_mtime if explanation.is_file() else 0.0
    )


def reference_genes(bundle_name: str, drug: str, view: str, rows: int = GENES_SHOWN) -> pd.DataFrame | None:
    """Gene ranking of the reference cohort for ``drug`` in attribution ``view``; None for a session bundle
    loaded from a file (its cohort's expression is not part of the bundle).

    Reference bundles (public data: cached for every session) use the rankings precomputed beside them when
    they hold at least ``rows`` genes of the drug, else compute them (seconds to a minute per drug). Session
    bundles are explained on the session's own cohort, cached in this session only."""
    if is_session_bundle(bundle_name):
        from core.explain.bundle_attributions import reference_attributions

        expression = bundle_reference_expression(bundle_name)
        if expression is None:
            return None
        b = bundle(bundle_name)
        return session_cached(
            ("reference_genes", bundle_name, drug, view), lambda: reference_attributions(b, expression, drug, view)
        )
    stored = stored_gene_ranking(reference_explanations(bundle_name), drug, view, rows)
    if stored is not None:
        return stored
    folder = models_dir() / bundle_name
    return _reference_genes(str(folder), _stamp(folder), drug, view)


def choose_view(bundle_name: str, widget_key: str, container: Any = st) -> str:
    """Attribution view (remembered across the genes and pathways pages); views that need the reference
    organoids' expression are offered only when it is at hand."""
    from core.explain.bundle_attributions import DEFAULT_VIEW, VIEWS

    have_references = bundle_reference_expression(bundle_name) is not None
    options = [name for name, view in VIEWS.items() if have_references or not view.needs_references]
    return remembered_choice(
        "Attributions",
        options,
        ATTRIBUTION_VIEW,
        widget_key,
        lambda v: VIEWS[v].label,
        horizontal=True,
        default=DEFAULT_VIEW,
        container=container,
    )


def organoid_genes(bundle_name: str, sample: str, drug: str, view: str) -> pd.DataFrame:
    """Gene ranking of the session's organoid ``sample`` for ``drug`` (cached in this session only)."""
    from core.explain.bundle_attributions import VIEWS, organoid_attribution_rows, ranked_genes

    b = bundle(bundle_name)
    references = bundle_reference_expression(bundle_name) if VIEWS[view].needs_references else None
    expression = sample_expression(sample)
    rows = session_cached(
        ("organoid_attributions", bundle_name, sample, view, drug),
        lambda: organoid_attribution_rows(b, expression, view, references, [drug]),
    )
    return ranked_genes(rows.loc[drug], expression)


def _cohort_importance(bundle_name: str) -> pd.DataFrame | None:
    """Drugs x genes importance of the reference cohort in the default view: precomputed for reference bundles,
    computed once per session for a session bundle with its cohort's expression; else None."""
    from core.explain.bundle_attributions import cohort_importance

    precomputed = reference_explanations(bundle_name)
    if precomputed is not None:
        return precomputed.importance
    expression = bundle_reference_expression(bundle_name) if is_session_bundle(bundle_name) else None
    if expression is None:
        return None
    b = bundle(bundle_name)
    return session_cached(("cohort_importance", bundle_name), lambda: cohort_importance(b, expression))


def ranked_pathways(bundle_name: str, drug: str, view: str, collection: str, sample: str | None) -> pd.DataFrame | None:
    """GSEA preranked for ``drug``: of the organoid ``sample``'s signed attributions, or (``sample`` None) of the
    reference cohort's importance relative to each gene's mean over drugs (default view only: it needs every
    drug; precomputed where built). None where the cohort's importance is not at hand."""
    from core.explain.bundle_attributions import DEFAULT_VIEW
    from core.explain.enrichment import ranked_enrichment
    from core.explain.precomputed import relative_importance

    if sample is not None:
        genes = organoid_genes(bundle_name, sample, drug, view)
        return session_cached(
            ("ranked", bundle_name, sample, drug, view, collection),
            lambda: ranked_enrichment(genes.set_index("gene")["attribution"], collection),
        )
    if view != DEFAULT_VIEW:
        return None
    stored = stored_ranked_pathways(reference_explanations(bundle_name), drug, collection)
    if stored is not None:
        return stored
    importance = _cohort_importance(bundle_name)
    if importance is None:
        return None
    return session_cached(
        ("ranked_reference", bundle_name, drug, collection),
        lambda: ranked_enrichment(relative_importance(importance).loc[drug], collection),
    )


def model_drug_controls(prefix: str) -> tuple[ModelBundle, str]:
    """Architecture, model and drug pickers in one row (remembered across pages); the bundle and drug."""
    grid = bundle_grid()
    if not grid:
        no_bundles_message()
        st.stop()
    left, middle, right = st.columns([2, 2, 2])
    architecture = choose_architecture(f"{prefix}_architecture", container=left)
    training = choose_training(architecture, f"{prefix}_training", container=middle)
    b = load_or_stop(grid[architecture][training])
    drug = choose_drug(list(b.drugs["drug"]), f"{prefix}_drug", container=right)
    return b, drug
