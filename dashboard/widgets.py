"""Choices and boxes every page draws the same way: pickers remembered across pages, the sidebar's organoid and
model source, a bundle's verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.data.export import to_safe_csv
from core.data.summary import dataset_label
from core.evaluation.default_model import default_training
from core.evaluation.evidence import (
    CHANCE,
    NO_BETTER,
    Evidence,
)
from core.inference.bundle import ModelBundle
from core.study_design import TARGET_COHORT, TRAINING_TITLES
from dashboard.bundles import (
    ARCHITECTURES,
    bundle_cached,
    bundle_evidence,
    bundle_grid,
    bundle_label,
    bundle_reference_expression,
    default_architecture,
    held_out_drug_evidence,
    held_out_evidence,
    load_or_stop,
    no_bundles_message,
    readable_evidence,
    unusable_note,
)
from dashboard.session import (
    MODEL_SOURCE,
    MODEL_SOURCE_WIDGET,
    REFERENCE_MODELS,
    SAMPLE,
    SESSION_MODELS,
    current_sample,
    sample_expression,
    samples,
    session_bundles,
    session_cached,
)

DRUG, ARCH, TRAINING = "drug", "architecture", "training"  # choices remembered across pages
# The drug picked while no organoid is loaded: kept apart, so an upload's pages open on its own top drug.
REFERENCE_DRUG = "reference_drug"


ATTRIBUTION_VIEW = "attribution_view"  # remembered across the genes and pathways pages


# Uploaders take any file: the library's checks then say in plain words why a wrong one cannot be used (a type
# filter would only show a red chip with its reason on hover).
UPLOAD_HELP = "CSV, TSV, TXT or XLSX, optionally gzipped; any other file gets a plain reason on the page."

# Download buttons do not rerun the page: a run first drops the session's file references, and the end of any other
# session's run deletes files nobody references, so with several users a second download clicked while the first
# rerun was under way could find its file gone (issue 23: 2 of 3 sessions had a CSV download cancelled).
DOWNLOAD_ONLY = "ignore"


def show_evidence(name: str, container: Any = st) -> Evidence:
    """The bundle's verdict in a coloured box (:func:`show_verdict`), and below it what the held-out GDSC lines of
    its lineage say, where they were scored (:class:`core.evaluation.held_out.HeldOutEvidence`)."""
    found = bundle_evidence(name)
    show_verdict(found, container)
    held_out = held_out_evidence(name)
    if held_out is not None:
        test = "the test with more power" if held_out.independent else "no test of this model"
        container.caption(f"On cell lines ({test}): {held_out.sentence()}")
    return found


def show_verdict(found: Evidence, container: Any = st) -> None:
    """A verdict in a coloured box: red when the model orders organoids no better than a drug's average or than
    chance, amber when the evidence is weak, green otherwise (:attr:`Evidence.grade`)."""
    box = (
        container.success
        if found.orders_samples
        else container.error
        if found.grade in (NO_BETTER, CHANCE)
        else container.warning
    )
    box(found.verdict(), icon=":material/verified:" if found.orders_samples else ":material/warning:")


# A score a row cannot have (e.g. the paper score of the per-organoid mean, constant within an organoid).
UNDEFINED = "undefined"


def score_columns(table: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, object]]:
    """``table`` with its score ``columns`` readable, and their column formats (three decimals). st.dataframe shows
    a missing number as "None", so a column with a score that is undefined for some row is shown as right-aligned
    text with the word :data:`UNDEFINED` there (the performance and fine-tuning pages say the same)."""
    shown = table.copy()
    config: dict[str, object] = {}
    for column in columns:
        if shown[column].isna().any():
            shown[column] = shown[column].map(lambda value: UNDEFINED if pd.isna(value) else f"{value:.3f}")
            config[column] = st.column_config.TextColumn(alignment="right")
        else:
            config[column] = st.column_config.NumberColumn(format="%.3f")
    return shown, config


def model_source_picker() -> None:
    """Sidebar: reference bundles or this session's own (shown once the session has some)."""
    if not session_bundles():
        return
    labels = {
        REFERENCE_MODELS: f"Reference ({dataset_label(TARGET_COHORT)})",
        SESSION_MODELS: "Your cohort (this session)",
    }
    remembered_choice(
        "Models used on every page",
        list(labels),
        MODEL_SOURCE,
        MODEL_SOURCE_WIDGET,
        format_func=labels.get,
        container=st.sidebar,
    )


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
    required) order organoids best (:func:`core.evaluation.evidence.best_architecture`). An architecture lacking
    a required model is still offered (its other models stay usable), and the chosen one's unusable bundles are
    named below the menu."""
    grid = bundle_grid()
    default = default_architecture(grid, require)
    chosen = remembered_choice(
        "Architecture",
        list(grid),
        ARCH,
        widget_key,
        lambda a: ARCHITECTURES.get(a, a),
        horizontal=True,
        default=default,
        container=container,
    )
    if chosen is not None:
        unusable_note(chosen, container)
    return chosen


def choose_training(architecture: str, widget_key: str, container: Any = st) -> str | None:
    """Model menu; until the reader picks one (here or on the ranking page), the architecture's model with the
    best evidence (:func:`core.evaluation.default_model.default_training`)."""
    present = bundle_grid().get(architecture, {})
    trainings = [k for k in TRAINING_TITLES if k in present]
    default = default_training(
        {k: readable_evidence(present[k]) for k in trainings}, {k: held_out_evidence(present[k]) for k in trainings}
    )
    return remembered_choice(
        "Model", trainings, TRAINING, widget_key, lambda k: TRAINING_TITLES[k], default=default, container=container
    )


def remember_looked_at(training: str, drug: str) -> None:
    """Called by the ranking page: the model and drug the reader looks at there, which the genes and pathways
    pages open on."""
    st.session_state[TRAINING] = training
    st.session_state[DRUG] = drug


def organoid_ranking_by(bundle_name: str, sample: str) -> pd.DataFrame:
    """The organoid's drug ranking by one bundle (:func:`core.usecases.ranking.organoid_ranking`, rank 1 first), computed
    once per session and shared by every page that shows it or opens on its top drug."""
    from core.usecases.ranking import drug_reliability, organoid_ranking

    b = load_or_stop(bundle_name)
    per_drug = bundle_cached(
        bundle_name, "reliability", lambda: drug_reliability(b, held_out_drug_evidence(bundle_name))
    )
    return session_cached(
        ("rank", bundle_name, sample), lambda: organoid_ranking(b, sample_expression(sample), per_drug)
    )


def drug_standing(bundle_name: str, sample: str, drug: str) -> str:
    """Where ``drug`` stands in the organoid's ranking by this bundle, with the calibrated probability the ranking
    page, the report and ``pdo-rank`` show for it (one sentence, for the pages that explain one drug)."""
    ranking = organoid_ranking_by(bundle_name, sample)
    row = ranking.set_index("drug").loc[drug]
    verdict = " (no better than a coin for this drug)" if row["coin"] else ""
    return (
        f"**{drug}** for organoid {sample}: rank {int(row['rank'])} of {len(ranking)}, z = {row['z_score']:+.2f}, "
        f"P(more sensitive than the median reference organoid) = {row['p_more_sensitive']:.2f}{verdict}."
    )


def choose_drug(b: ModelBundle, widget_key: str, container: Any = st) -> str | None:
    """Drug menu (alphabetical); until the reader picks one, the drug the organoid shown is predicted most
    sensitive to by ``b``, or the first drug while no organoid is loaded."""
    sample = current_sample()
    drugs = list(b.drugs["drug"])
    if sample is None:
        return remembered_choice("Drug", sorted(drugs, key=str.lower), REFERENCE_DRUG, widget_key, container=container)
    remembered = st.session_state.get(DRUG) in drugs
    default = None if remembered else str(organoid_ranking_by(b.name, sample)["drug"].iloc[0])
    return remembered_choice(
        "Drug", sorted(drugs, key=str.lower), DRUG, widget_key, default=default, container=container
    )


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


def model_drug_controls(prefix: str) -> tuple[ModelBundle, str]:
    """Architecture, model and drug pickers in one row (remembered across pages), then the model's verdict; the
    bundle and drug."""
    grid = bundle_grid()
    if not grid:
        no_bundles_message()
        st.stop()
    left, middle, right = st.columns([2, 2, 2])
    architecture = choose_architecture(f"{prefix}_architecture", container=left)
    training = choose_training(architecture, f"{prefix}_training", container=middle)
    b = load_or_stop(grid[architecture][training])
    drug = choose_drug(b, f"{prefix}_drug", container=right)
    show_evidence(b.name)
    return b, drug


def download_name(bundle_name: str, *parts: str, suffix: str) -> str:
    """A download's file name from the model's menu name and ``parts`` (sample, drug, ...), each reduced to letters,
    digits and dashes: "P10_tDNN-from-scratch_ranking.csv", never a folder name or a "/" from a drug's name."""
    words = [*parts[:1], bundle_label(bundle_name), *parts[1:]]
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "-", word).strip("-") for word in words) + suffix


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A download's CSV, in which no cell (an organoid named ``=cmd|...``) runs as a formula in a spreadsheet."""
    return to_safe_csv(table, index=False).encode("utf-8")
