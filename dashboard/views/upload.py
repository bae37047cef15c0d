"""Upload & QC: read the organoid profile(s), check them, show what was done; keep them in this session only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.config import models_dir
from core.inference.bundle import BundleError
from core.labshift.prepare import MIN_COHORT_SIZE, MIN_TO_ALIGN, PreparedProfiles, prepare_profiles
from core.labshift.reference import ReferenceProfile, ReferenceProfileError, load_reference_profile
from core.study_design import TARGET_COHORT
from core.upload import UploadError, validate_upload
from core.upload.reference_match import identical_references
from dashboard.bundles import ARCHITECTURES, bundle_genes, bundle_grid, reference_expression
from dashboard.session import (
    SAME_LAB_FIELD,
    clear_profile,
    prepared,
    profile,
    release_memory_of_ended_sessions,
    session_cached,
    set_prepared,
    set_profile,
    take_upload,
)
from dashboard.widgets import UPLOAD_HELP

SAME_LAB, SEPARATE = "Yes: align them as one cohort", "No: read each on its own"


def model_panels() -> dict[str, list[str]]:
    """Architecture -> the genes its bundles read (all kinds of one architecture share the panel)."""
    panels = {}
    for architecture, kinds in bundle_grid().items():
        for name in kinds.values():
            try:
                panels[architecture] = bundle_genes(name)
                break
            except BundleError as error:
                st.warning(str(error))
    if not panels:
        from core.data.panels import load_panel

        st.warning(
            "No drug-response models are installed on this server, so the QC below uses the tDNN gene panel; nothing "
            "can be ranked yet."
        )
        panels = {"tdnn": load_panel("tdnn")}
    return panels


def validate(data: bytes, filename: str, panel: list[str], source: str) -> bool:
    """Validate and keep the profile; show the plain reason when the file cannot be used."""
    try:
        with st.spinner("Checking the file..."):
            validated = validate_upload(data, filename, panel)
    except UploadError as error:
        st.error(f"**This file cannot be used.** {error}")
        return False
    except Exception as error:  # noqa: BLE001  (a clinician must never see a traceback)
        st.error(
            f"**This file cannot be used.** It could not be read as an expression table "
            f"({type(error).__name__}). Upload a CSV, TSV, TXT or XLSX table of genes x samples."
        )
        return False
    set_profile(validated, source)
    return True


@st.cache_resource(show_spinner=False)
def reference_statistics(folder: str, cohort: str) -> ReferenceProfile:
    """The reference organoids' statistics (public), read and verified once per process."""
    return load_reference_profile(Path(folder), cohort)


def read_profiles(same_lab: bool | None) -> PreparedProfiles | None:
    """Apply the alignment rule to this session's profile (kept until the profile or the answer changes)."""
    current, earlier = profile(), prepared()
    key = (id(current), same_lab)
    if earlier is not None and st.session_state.get("prepared_key") == key:
        return earlier
    try:
        reference = reference_statistics(str(models_dir()), TARGET_COHORT)
    except ReferenceProfileError as error:
        st.error(f"**Profiles cannot be aligned or checked against the reference organoids.** {error}")
        return None
    reading = prepare_profiles(current.expression, reference, same_lab)
    set_prepared(reading)
    st.session_state["prepared_key"] = key
    return reading


def say_which_are_reference_organoids(expression: pd.DataFrame) -> None:
    """Name the uploaded samples that repeat a reference organoid's profile: what their rankings then mean."""
    matches = session_cached("identical_references", lambda: identical_references(expression, reference_expression()))
    if not matches:
        return
    pairs = "; ".join(
        f"sample **{sample}** is identical to reference organoid **{ref}**" for sample, ref in matches.items()
    )
    st.warning(
        f"{pairs} (van de Wetering 2015). Such a sample is one of the reference organoids: its z-scores compare it "
        "with itself among the others, and the models' cross-validated prediction for it already exists (the fold "
        "models that did not hold it out trained on it), so its ranking looks more reliable than one for a new "
        "patient's organoid would.",
        icon=":material/content_copy:",
    )


def show_reading(reading: PreparedProfiles) -> None:
    """How the profiles are read, and each one's out-of-range verdict, flagged ones first and in red."""
    st.info(f"**How your profiles are read.** {reading.explanation}")
    flagged = reading.out_of_range()
    if flagged:
        st.error(
            f"**{len(flagged)} of {len(reading.verdicts)} profile(s) out of range**: they do not look like the "
            "reference organoids, so their z-scores are not comparable with the reference cohort's."
        )
        for sample in flagged[:10]:
            st.markdown(f"- **{sample}**: {reading.verdicts[sample].message}")
        if len(flagged) > 10:
            st.caption(f"... and {len(flagged) - 10} more (see the table).")
    else:
        st.success("Every profile looks like the reference organoids (lab, platform and tissue).")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "sample": sample,
                    "verdict": "in range" if verdict.in_range else f"out of range ({verdict.problem})",
                    "lab/platform shift": verdict.shift_score,
                    "tissue score": verdict.tissue_score,
                }
                for sample, verdict in reading.verdicts.items()
            ]
        ),
        hide_index=True,
        column_config={
            "lab/platform shift": st.column_config.NumberColumn(
                format="%.2f",
                help="How far its genes deviate from the reference organoids' means, in units of how far the "
                "reference organoids deviate among themselves (about 1 for them; out of range above "
                f"{next(iter(reading.verdicts.values())).shift_limit:g})",
            ),
            "tissue score": st.column_config.NumberColumn(
                format="%.2f",
                help="Mean rank (0-1) of the colorectal marker genes (CDX2, VIL1, KRT20, ...) within the profile; "
                f"out of range below {next(iter(reading.verdicts.values())).tissue_limit:g}",
            ),
        },
    )


st.title("Upload & QC")
st.markdown(
    """
Upload the gene-expression profile of one organoid or of several (one column or one row per organoid).
Accepted: CSV, TSV, TXT or Excel (`.xlsx`), optionally gzipped; genes named by HGNC symbol (e.g. `TP53`) or
Ensembl gene ID; log2 expression, FPKM/TPM or raw counts (the scale is detected and converted to log2).
"""
)
st.caption(
    "Your file is read in memory and kept only in this browser session: it is never written to disk and "
    "never shared with other users. Closing the tab discards it."
)

release_memory_of_ended_sessions()  # uploads are where a session holds most
panels = model_panels()
union_panel = list(dict.fromkeys(g for genes in panels.values() for g in genes))
source_choice = st.radio(
    "Profile", ["Upload a file", "Use a reference organoid as a demo"], horizontal=True, key="upload_source"
)

if source_choice == "Upload a file":
    uploaded = st.file_uploader("Expression profile", key="upload_file", help=UPLOAD_HELP)
    if uploaded is not None and uploaded.file_id != st.session_state.get("upload_file_id"):
        if validate(take_upload(uploaded), uploaded.name, union_panel, f"file {uploaded.name}"):
            st.session_state["upload_file_id"] = uploaded.file_id
            st.rerun()
        elif profile() is not None:
            st.caption("The profile loaded before is kept.")
else:
    reference = reference_expression()
    st.info(
        "The demo runs a reference organoid's raw log2 expression through exactly the path an upload takes "
        "(QC, per-sample z-scores, ComBat with the bundle's stored parameters, every fold model). These organoids "
        "are part of the reference cohort: each one with drug responses was held out by one cross-validation fold, "
        "but the other fold models trained on it, so its predictions here are partly in-sample and look more "
        "reliable than they would for a new patient's organoid."
    )
    chosen = st.multiselect(
        "Reference organoids (van de Wetering 2015)",
        list(reference.index),
        default=list(reference.index[:1]),
        key="demo_samples",
    )
    if st.button("Use as demo profile", type="primary", disabled=not chosen):
        data = reference.loc[chosen].T.rename_axis("gene").to_csv().encode()
        if validate(data, "reference organoids (demo).csv", union_panel, "the reference cohort (demo)"):
            st.rerun()

current = profile()
if current is None:
    st.stop()

check = current.check
st.divider()
head, button = st.columns([4, 1])
head.subheader(f"Quality control: {check.filename}")
if button.button("Forget this profile", key="forget_profile"):
    clear_profile()
    st.rerun()

col1, col2, col3, col4 = st.columns(4)
col1.metric("Samples found", check.n_samples)
# Short values: a metric tile cuts what does not fit ("12,031 of 12,..."); the full figures are in the help.
col2.metric("Scale detected", str(check.scale).split(" (")[0], help=f"{check.scale}: {check.transformation}")
col3.metric(
    "Panel coverage", f"{check.coverage_overall:.1%}", help=f"of the {check.panel_size:,} genes the models read"
)
col4.metric(
    "Genes mapped",
    f"{check.n_mapped / max(check.n_identifiers, 1):.0%}",
    help=f"{check.n_mapped:,} of {check.n_identifiers:,} identifiers mapped to approved HGNC symbols",
)
st.markdown(
    f"- **Samples:** {', '.join(check.samples[:20])}{' ...' if check.n_samples > 20 else ''}\n"
    f"- **Layout:** {check.orientation}; identifiers are {check.identifier_type}\n"
    f"- **Transformation:** {check.transformation}\n"
    f"- **Genes:** {check.n_genes:,} approved symbols ({check.renaming()}; {check.n_duplicates_aggregated:,} "
    "genes given more than once averaged)"
)
if check.warnings:
    for warning in check.warnings:
        st.warning(warning)
else:
    st.success("No warnings: the profile is usable as it is.")

coverage = pd.DataFrame(
    {
        "sample": list(check.coverage_per_sample),
        "coverage of all model genes": list(check.coverage_per_sample.values()),
    }
)
expression = current.expression
for architecture, genes in panels.items():
    present = expression.reindex(columns=genes).notna().mean(axis=1)
    coverage[f"{ARCHITECTURES.get(architecture, architecture)} panel ({len(genes)} genes)"] = (
        coverage["sample"].map(present).to_numpy()
    )
st.dataframe(
    coverage,
    hide_index=True,
    column_config={c: st.column_config.NumberColumn(format="percent") for c in coverage.columns if c != "sample"},
)
if check.missing_panel_genes:
    with st.expander(f"Missing panel genes ({len(check.missing_panel_genes):,})"):
        st.write(", ".join(check.missing_panel_genes))
with st.expander("Full QC report (text)"):
    st.code(check.to_text(), language=None)

st.subheader("Does it look like the reference organoids?")
from_demo = st.session_state.get("profile_source") == "the reference cohort (demo)"
if not from_demo:  # the demo says so above
    say_which_are_reference_organoids(current.expression)
if from_demo:
    same_lab = False  # the reference lab's own organoids: nothing to align
elif check.n_samples >= 2:
    same_lab = (
        st.radio(
            f"Do these {check.n_samples} organoids come from one lab, processed the same way (protocol, platform, "
            "normalisation)?",
            [SAME_LAB, SEPARATE],
            index=0 if check.n_samples >= MIN_COHORT_SIZE else 1,
            key=SAME_LAB_FIELD,
            help=f"Organoids of one lab are aligned gene-wise onto the reference organoids, which removes what the "
            f"lab and platform add to every gene. It works best with at least {MIN_COHORT_SIZE} organoids and needs "
            f"{MIN_TO_ALIGN}: with fewer, each gene's mean and spread in your lab are rough (README, 'Another lab's "
            "organoids').",
        )
        == SAME_LAB
    )
else:
    same_lab = None
reading = read_profiles(same_lab)
if reading is not None:
    show_reading(reading)
st.caption(
    "Then each model z-scores every sample over its panel genes and applies **ComBat with the parameters stored in "
    "the model bundle** (fitted on the GDSC cell lines and that fold's training organoids); nothing is refitted on "
    "your data. Panel genes missing from a sample are set to the reference average and reported here."
)

st.page_link("views/ranking.py", label="See the drug ranking", icon=":material/arrow_forward:")
