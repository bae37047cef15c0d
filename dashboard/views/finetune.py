"""Fine-tune on your cohort: upload a screen (expression + drug responses), fine-tune the GDSC-pre-trained model
on it and train the same architecture from scratch, both cross-validated; the bundles live in this session only.

The training runs in a worker process (:mod:`core.training.background`): Streamlit stops a page's script
at the next click, so training inside the script would freeze the session and die on any click. The page
polls the job once a second in a fragment, so only the progress display reruns while it trains.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.config import models_dir
from core.data.cohort import Cohort
from core.data.registry import load_cohort
from core.evaluation.metrics import HEADLINE, METRICS
from core.inference.bundle import BundleError, bundles_from_zip_bytes, bundles_to_zip_bytes
from core.inference.model import TrainedModel
from core.study_design import TARGET_COHORT, TRAINING_LABELS, bundle_name
from core.training import background
from core.training.fit import TrainingSettings
from core.training.own_cohort import (
    BROWSER_TRAINING,
    MODEL_LABELS,
    SCORES,
    beats_the_drug_average,
    comparison_table,
    n_folds_for,
    train_own_cohort_to_zip,
)
from core.training.pretrained import pretrained_from_zeroshot_bundle
from core.upload import UploadError
from core.upload.cohort import (
    MIN_DRUGS,
    MIN_PAIRS,
    MIN_SAMPLES,
    UploadedCohort,
    training_expression_again,
    validate_cohort_upload,
)
from core.upload.responses import example_response_table
from dashboard.bundles import ARCHITECTURES, bundle_evidence, reference_grid, unusable_note
from dashboard.restart import restarted
from dashboard.session import (
    MODEL_SOURCE,
    MODEL_SOURCE_WIDGET,
    REFERENCE_MODELS,
    add_session_bundles,
    attach_reference_expression,
    session_bundles,
    using_session_models,
)
from dashboard.widgets import DOWNLOAD_ONLY, UPLOAD_HELP, score_columns, show_verdict

COHORT, JOB, JOB_COHORT, TRAINED = "finetune_cohort", "finetune_job", "finetune_job_cohort", "finetune_trained"
OUTCOME_DRAWN = "finetune_outcome_drawn"  # the finished job whose outcome a completed run of this page drew
# A mark in the page's address (?training=running), written only when a training starts or ends: a browser
# reconnecting after a server restart, or reloading the page, keeps its address, so the new session can tell a
# training was lost.
TRAINING_MARK, RUNNING = "training", "running"
SESSION_CHOICE = (
    "Your cohort (this session)"  # the sidebar's name for this session's models (widgets.model_source_picker)
)
METRIC_LABELS = {"auc": "AUC (area under the viability curve, 0-1)", "ln_ic50": "ln IC50 (natural log, micromolar)"}


@st.cache_resource(show_spinner="Loading the pre-trained model (once per server)...")
def _pretrained(folder: str, stamp: float) -> tuple[TrainedModel, dict]:
    return pretrained_from_zeroshot_bundle(Path(folder))


@st.cache_resource(show_spinner=False)
def reference_cohort() -> Cohort:
    """The public reference screen (for the example response table)."""
    return load_cohort(TARGET_COHORT)


def zeroshot_folder(architecture: str) -> Path:
    """The committed zero-shot bundle that carries ``architecture``'s GDSC-pre-trained network."""
    return models_dir() / bundle_name(TARGET_COHORT, architecture, "zeroshot")


def pretrained(architecture: str) -> tuple[TrainedModel, dict]:
    """The GDSC-pre-trained network (public, loaded once per process and again if the bundle is rebuilt); the
    page needs its gene panel to check an upload."""
    folder = zeroshot_folder(architecture)
    return _pretrained(str(folder), (folder / "manifest.json").stat().st_mtime)


def architectures() -> list[str]:
    """The architectures with a committed zero-shot bundle, i.e. a pre-trained model to fine-tune."""
    return [a for a, trainings in reference_grid().items() if "zeroshot" in trainings]


def say_what_a_restart_lost(job: background.BackgroundJob | None) -> None:
    """A training that ran in the page before a restart (below the entry point's notice, :mod:`dashboard.restart`)
    or a reload is lost: say so, instead of showing the form as if it were still running."""
    if st.query_params.get(TRAINING_MARK) != RUNNING or job is not None:
        return
    if restarted():
        st.warning("**The training that was running was lost with the restart**; nothing from it was kept.")
    else:
        st.warning(
            "**This page was reloaded while a training was running.** That training belongs to the page as it was "
            "before and its results cannot be shown here. Start it again."
        )


def mark_address(job: background.BackgroundJob | None) -> None:
    """Write whether a training runs into the page's address."""
    if job is not None and job.active:
        st.query_params[TRAINING_MARK] = RUNNING
    elif TRAINING_MARK in st.query_params:
        del st.query_params[TRAINING_MARK]


def check_cohort(
    expression: UploadedFile,
    responses: UploadedFile,
    *,
    metric: str,
    lower_is_sensitive: bool,
    architecture: str,
    label: str,
) -> None:
    """Validate both files; keep the cohort in this session, or show the plain reason it cannot be used."""
    model, _ = pretrained(architecture)
    try:
        with st.spinner("Checking both files and finding the drugs' structures..."):
            uploaded = validate_cohort_upload(
                expression.getvalue(),
                expression.name,
                responses.getvalue(),
                responses.name,
                metric=metric,
                lower_is_sensitive=lower_is_sensitive,
                panel=model.expression.genes,
                label=label,
            )
    except UploadError as error:
        st.session_state.pop(COHORT, None)
        st.error(f"**This cohort cannot be used.** {error}")
        return
    except Exception as error:  # noqa: BLE001  (a user must never see a traceback)
        st.session_state.pop(COHORT, None)
        st.error(
            f"**This cohort cannot be used.** The files could not be read ({type(error).__name__}). Upload an "
            "expression table (genes x samples) and a response table (sample, drug, value)."
        )
        return
    st.session_state[COHORT] = {"uploaded": uploaded, "architecture": architecture, "label": label}
    st.session_state["finetune_folds"] = n_folds_for(uploaded.check.n_samples)  # the folds suiting this cohort


def show_cohort_report(uploaded: UploadedCohort) -> None:
    check = uploaded.check
    st.markdown(f"Checked: **{check.label}**")
    col1, col2, col3 = st.columns(3)
    col1.metric("Samples kept", check.n_samples)
    col2.metric("Drugs kept", check.n_drugs)
    col3.metric("Sample-drug pairs", check.n_pairs)
    st.caption(
        f"Response: {check.metric}, lower = more sensitive. Columns read: "
        + ", ".join(f"{role} = '{name}'" for role, name in check.response_columns.items())
        + "."
    )
    if check.dropped:
        st.warning("**Left out:**\n" + "\n".join(f"- {line}" for line in check.dropped))
    else:
        st.success("Nothing was left out: every row, sample and drug is usable.")
    for line in check.notes + check.expression.warnings:
        st.info(line)
    with st.expander(f"Drug structures ({check.n_drugs})"):
        st.dataframe(check.structures, hide_index=True, key="finetune_structures")


def start_training(
    uploaded: UploadedCohort, architecture: str, label: str, settings: TrainingSettings, n_folds: int
) -> None:
    """Train in a worker process (it loads GDSC and the pre-trained model itself) and keep the job here."""
    cohort = uploaded.cohort
    st.session_state[JOB] = background.start(
        train_own_cohort_to_zip,
        (cohort, label, zeroshot_folder(architecture), settings, n_folds),
        f"finetune-{architecture}",
    )
    st.session_state[JOB_COHORT] = {"expression": cohort.expression, "label": label}
    st.session_state[TRAINED] = None


def model_names(names: list[str]) -> str:
    """This session's models by what a reader knows them as ("tDNN fine-tuned, tDNN from scratch"), not their IDs."""
    manifests = [session_bundles()[name].manifest for name in names]
    return ", ".join(
        f"{ARCHITECTURES.get(m.architecture, m.architecture)} {TRAINING_LABELS.get(m.training, m.training)}"
        for m in manifests
    )


def session_verdicts(bundles: list) -> dict:
    """Each of this session's new bundles' evidence on its own cohort (the pages must be using them)."""
    with st.spinner("Testing each model's ordering of your organoids against shuffled ones..."):
        return {b.name: bundle_evidence(b.name) for b in bundles}


def collect_finished_job() -> bool:
    """Move a finished job's bundles into this session's models (once) with their verdicts; True when it did.
    The pages switch to them only when one of them orders the lab's organoids better than each drug's average
    (:func:`core.training.own_cohort.beats_the_drug_average`); otherwise the page asks first."""
    job = st.session_state.get(JOB)
    if job is None or job.status != background.DONE or job.result is None:
        return False
    archive, job.result = job.result, None
    bundles = bundles_from_zip_bytes(archive)
    trained_on = st.session_state[JOB_COHORT]
    add_session_bundles(bundles, trained_on["expression"])  # switches to them, so their evidence is theirs
    verdicts = session_verdicts(bundles)
    if not beats_the_drug_average(verdicts.values()):  # back to the reference models, before the menu is drawn
        st.session_state[MODEL_SOURCE] = REFERENCE_MODELS
        st.session_state.pop(MODEL_SOURCE_WIDGET, None)
    st.session_state[TRAINED] = {
        "names": [b.name for b in bundles],
        "seconds": job.seconds,
        "label": trained_on["label"],
        "verdicts": verdicts,
    }
    return True


def training_status(job: background.BackgroundJob) -> None:
    """Progress of the running job, redrawn every second (only this fragment reruns).

    The fragment keeps polling until a whole run of the page has drawn the job's outcome: the full rerun it
    asks for when the job ends can be lost (a CI run's page stayed on its progress bar, no timer left), and
    then the next tick asks again. The run that draws the outcome reruns the page once more, which draws the
    fragment without a timer. ``inline`` tells the call inside a full run, which must not ask for a rerun.
    """
    inline = {"now": True}

    @st.fragment(run_every=None if st.session_state.get(OUTCOME_DRAWN) is job else 1.0)
    def progress() -> None:
        # The fragment always draws one container, empty once the job has ended: a fragment that drew nothing
        # shared its place with the element after it (the results' heading), which its next run then removed.
        slot = st.container()
        if not job.active:
            if not inline["now"] and st.session_state.get(OUTCOME_DRAWN) is not job:
                collect_finished_job()
                st.rerun()  # the whole page: the sidebar and the results show the new models
            return
        step = job.progress
        if job.status == background.QUEUED:
            text = "Waiting for another training on this server to finish..."
        else:
            text = (
                step.describe()
                if step is not None
                else ("Starting the training process (TensorFlow, GDSC and " "the pre-trained model load first)...")
            )
        slot.progress(0.0 if step is None else step.fraction, text=text)
        slot.caption(
            f"{job.seconds:.0f} s so far. The other pages stay usable meanwhile; come back here for the results."
        )

    progress()
    inline["now"] = False
    # Outside the fragment: its once-a-second redraw replaced the button under the pointer, and a click could be lost
    if job.active and st.button("Stop training", key="finetune_stop"):
        job.cancel()
        st.rerun()  # the whole page, which now says the training was stopped


def show_results(trained: dict) -> None:
    bundles = [session_bundles()[name] for name in trained["names"] if name in session_bundles()]
    if not bundles:
        return
    by_training = {b.manifest.training: b for b in bundles}
    st.subheader("How far each model can be trusted on your cohort")
    for training, b in by_training.items():
        st.markdown(
            f"**{ARCHITECTURES.get(b.manifest.architecture, b.manifest.architecture)} {MODEL_LABELS[training]}**"
        )
        show_verdict(trained["verdicts"][b.name])
    say_which_models_are_used(trained, worth_using=beats_the_drug_average(trained["verdicts"].values()))
    scores, formats = score_columns(comparison_table(by_training), [METRICS[key].label for key in SCORES])
    st.dataframe(scores, hide_index=True, key="finetune_scores", column_config=formats)
    first = next(iter(by_training.values()))
    folds = first.manifest.cross_validation.n_folds
    st.caption(
        f"Cell cold-start cross-validation over your {first.manifest.n_reference_samples} organoids ({folds} folds): "
        f"each organoid predicted by models that never saw it. **{METRICS[HEADLINE].label}**: per drug, the correlation "
        "across organoids after removing the drug's average in each test fold; every naive baseline scores 0, so a model "
        "must score above 0 to rank organoids better than a drug's average does. "
        f"**{METRICS['paper_precision_oncology'].label}**: Prasse et al.'s correlation across the drugs of one organoid, which the per-drug mean alone already wins. Same metric code as the "
        "*Model performance* page."
    )
    stem = re.sub(r"[^A-Za-z0-9]+", "_", trained["label"]).strip("_") or "cohort"
    st.download_button(
        "Download both bundles (.zip)",
        lambda: bundles_to_zip_bytes(bundles),
        file_name=f"{stem}_bundles.zip",
        mime="application/zip",
        key="finetune_download",
        on_click=DOWNLOAD_ONLY,
        icon=":material/download:",
        help="Built in memory when you click. Load it again below, in a later session.",
    )
    left, right, _ = st.columns([1, 1, 2])
    left.page_link("views/upload.py", label="Upload the next patient's profile", icon=":material/upload:")
    right.page_link("views/ranking.py", label="Drug ranking", icon=":material/format_list_numbered:")


def say_which_models_are_used(trained: dict, worth_using: bool) -> None:
    """Whether every page uses the lab's models; when they do not, why, and how to use them all the same (the
    sidebar's menu: a button here could not change that menu once it is on screen)."""
    if using_session_models():
        st.success(
            f"Trained in {trained['seconds']:.0f} s. Every page now uses these models (sidebar: *Models used on "
            "every page*); z-scores are computed against your cohort's cross-validated predictions."
        )
        return
    choose = f"choose *{SESSION_CHOICE}* under *Models used on every page* in the sidebar"
    if worth_using:
        st.info(f"Trained in {trained['seconds']:.0f} s. The pages use the reference models; to use these, {choose}.")
        return
    st.warning(
        f"Trained in {trained['seconds']:.0f} s. **Neither of these models orders your organoids better than each "
        "drug's average**, so the pages keep the reference models: these would rank drugs by their average potency "
        f"in your cohort, not by the organoid. To use them anyway, {choose}."
    )


def load_saved_bundles() -> None:
    uploaded = st.file_uploader("Bundles saved earlier (.zip)", key="finetune_bundle_zip")
    if uploaded is None or uploaded.file_id == st.session_state.get("finetune_bundle_zip_id"):
        return
    try:
        with st.spinner("Checking the bundles (every file's hash) and loading the models..."):
            bundles = bundles_from_zip_bytes(uploaded.getvalue())
    except BundleError as error:
        st.error(f"**These bundles cannot be used.** {error}")
        return
    st.session_state["finetune_bundle_zip_id"] = uploaded.file_id
    add_session_bundles(bundles, None)  # loading them is the choice to use them: every page switches to them
    st.session_state["finetune_loaded"] = [b.name for b in bundles]
    st.session_state["finetune_loaded_verdicts"] = session_verdicts(bundles)
    st.session_state.pop("finetune_loaded_expression", None)
    st.rerun()


def show_loaded(names: list[str], verdicts: dict) -> None:
    """What was loaded, and each model's verdict on its own cohort, as for models trained here: amber when none of
    them orders that cohort's organoids better than each drug's average."""
    loaded = f"Loaded {model_names(names)}: every page now uses them (sidebar: *Models used on every page*)."
    if beats_the_drug_average(verdicts.values()):
        st.success(loaded)
    else:
        st.warning(
            f"{loaded} **Neither orders its cohort's organoids better than each drug's average**: their rankings "
            "show each drug's average potency in that cohort, not the organoid. To go back, choose the reference "
            "models under *Models used on every page* in the sidebar."
        )
    for name in names:
        st.markdown(f"**{model_names([name])}**")
        show_verdict(verdicts[name])


def load_training_expression(names: list[str]) -> None:
    """Optional: the loaded bundles' training expression file again, so the genes page can explain their cohort."""
    uploaded = st.file_uploader(
        "Their cohort's expression file (optional: the genes page then also explains the " "cohort)",
        key="finetune_loaded_expression_file",
        help=UPLOAD_HELP,
    )
    done = st.session_state.get("finetune_loaded_expression")  # (file id, bundles given their expression)
    if uploaded is not None and (done is None or uploaded.file_id != done[0]):
        attached, problems = [], []
        for name in names:
            b = session_bundles()[name]
            try:
                expression = training_expression_again(
                    uploaded.getvalue(),
                    uploaded.name,
                    b.manifest.data_files,
                    sorted(b.reference_predictions["sample"].unique()),
                    b.genes,
                )
            except UploadError as error:
                problems.append(str(error))
                continue
            attach_reference_expression(name, expression)
            attached.append(name)
        if not attached:
            st.error(f"**This expression file cannot be used.** {problems[0]}")
            return
        done = st.session_state["finetune_loaded_expression"] = (uploaded.file_id, attached)
    if done is not None:
        st.success(
            f"The genes page now also explains the cohort of {model_names(done[1])} (the file is the one they "
            "were trained on)."
        )


st.title("Fine-tune on your own cohort")
st.markdown(
    f"""
Screened your own organoids? Upload their **expression** and their **drug responses**: the network pre-trained on
GDSC cell lines is fine-tuned on them and, for comparison, the same architecture is trained on them from scratch
(Prasse et al., *Cancers* 2022). Both are cross-validated over your organoids, so you see how far each can be
trusted on your cohort before using it to rank drugs for your next patient.

- **Expression**: the formats of *Upload & QC* (CSV, TSV, TXT or XLSX, optionally gzipped; genes by HGNC symbol or
  Ensembl ID; log2, FPKM/TPM or counts).
- **Responses**: one row per sample and drug, columns `sample`, `drug` and `value` (or `auc` / `ln_ic50`);
  drugs by name (matched to GDSC) or with a `smiles` column. Needs at least {MIN_SAMPLES} organoids,
  {MIN_DRUGS} drugs and {MIN_PAIRS} pairs.
"""
)
st.download_button(
    "Example response table (CSV)",
    example_response_table(reference_cohort()),
    file_name="example_responses.csv",
    mime="text/csv",
    key="finetune_example",
    on_click=DOWNLOAD_ONLY,
    icon=":material/download:",
    help="Three colorectal organoids of the public reference screen (van de Wetering 2015) in the layout "
    "this page reads: sample, drug, value (AUC), and the optional gdsc_drug_id.",
)
st.caption(
    "Your files are read in memory and kept only in this browser session: never written to disk, never "
    "shared with other users. The trained bundles too: download them to keep them."
)

say_what_a_restart_lost(st.session_state.get(JOB))
if collect_finished_job():
    st.rerun()  # the sidebar, drawn before this page, then lists the new models
available = architectures()
for missing in [a for a in ARCHITECTURES if a not in available]:
    unusable_note(missing)  # names its damaged bundles, if that is why it is not offered
if not available:
    st.warning(
        "No pre-trained model is installed on this server (the zero-shot models carry them), so nothing can be "
        "fine-tuned here. The server's administrator can build them (README, *Rebuild*)."
    )
    st.stop()

# Defaults set once per session, not passed to the widgets, so the values a user typed survive other pages
# (``dashboard.session.keep_widget_values``).
for key, default in {
    "finetune_label": "my organoids",
    "finetune_metric": "auc",
    "finetune_direction": "lower",
    "finetune_batch": BROWSER_TRAINING.batch_size,
    "finetune_epochs": BROWSER_TRAINING.max_epochs,
    "finetune_architecture": available[0],
}.items():
    st.session_state.setdefault(key, default)
if st.session_state["finetune_architecture"] not in available:
    st.session_state["finetune_architecture"] = available[0]

st.subheader("1. Your cohort")
with st.form("finetune_form"):
    label = st.text_input("Cohort name", max_chars=60, key="finetune_label")
    left, right = st.columns(2)
    expression_file = left.file_uploader("Expression (genes x samples)", key="finetune_expression", help=UPLOAD_HELP)
    response_file = right.file_uploader(
        "Drug responses (sample, drug, value)", key="finetune_responses", help=UPLOAD_HELP
    )
    left, middle, right = st.columns(3)
    metric = left.radio("Response metric", list(METRIC_LABELS), format_func=METRIC_LABELS.get, key="finetune_metric")
    direction = middle.radio(
        "Direction",
        ["lower", "higher"],
        key="finetune_direction",
        format_func=lambda d: f"{d.capitalize()} = more sensitive",
    )
    architecture = right.radio(
        "Architecture",
        available,
        format_func=lambda a: ARCHITECTURES.get(a, a),
        key="finetune_architecture",
        help="For 44 organoids x 25 drugs on 2 CPU cores: ConvNN about 0.6 minutes, tDNN " "1-1.5, PaccMann about 3.",
    )
    submitted = st.form_submit_button("Check the cohort", type="primary")
if submitted:
    if expression_file is None or response_file is None:
        lost_files = (
            " Files shown in the form but uploaded before the server was restarted are no longer held: remove them "
            "(x) and upload them again."
            if restarted()
            else ""
        )
        st.error(f"Upload both files: the expression table and the response table.{lost_files}")
    else:
        check_cohort(
            expression_file,
            response_file,
            metric=metric,
            lower_is_sensitive=direction == "lower",
            architecture=architecture,
            label=label.strip() or "my organoids",
        )

checked = st.session_state.get(COHORT)
job = st.session_state.get(JOB)
if checked is not None:
    show_cohort_report(checked["uploaded"])
    st.subheader("2. Train")
    n_samples = checked["uploaded"].check.n_samples
    st.session_state.setdefault("finetune_folds", n_folds_for(n_samples))
    with st.expander("Training settings"):
        left, middle, right = st.columns(3)
        batch_size = left.number_input("Batch size", 8, 1024, key="finetune_batch")
        max_epochs = middle.number_input("Epochs at most (early stopping, patience 5)", 1, 200, key="finetune_epochs")
        n_folds = right.number_input("Cross-validation folds", 2, n_samples, key="finetune_folds")
        st.caption(
            f"Defaults keep a cohort of 44 organoids x 25 drugs under 3 minutes on 2 CPU cores (batch "
            f"{BROWSER_TRAINING.batch_size}, at most {BROWSER_TRAINING.max_epochs} epochs). For larger cohorts "
            "or a GPU, the same training runs on the command line (README, *Fine-tune on your own cohort*)."
        )
    st.markdown(
        f"**{ARCHITECTURES.get(checked['architecture'], checked['architecture'])}**, fine-tuned from GDSC and "
        f"from scratch; ComBat fitted on GDSC + each fold's training organoids."
    )
    if st.button(
        "Fine-tune and train from scratch",
        type="primary",
        key="finetune_start",
        disabled=job is not None and job.active,
    ):
        settings = TrainingSettings(batch_size=int(batch_size), max_epochs=int(max_epochs))
        start_training(checked["uploaded"], checked["architecture"], checked["label"], settings, int(n_folds))
        job = st.session_state[JOB]

if job is not None:
    training_status(job)
    if job.status == background.CANCELLED:
        st.warning("Training was stopped; nothing was kept.")
    elif job.status == background.FAILED:
        st.error(f"**Training failed.** {job.error}")
mark_address(job)

trained = st.session_state.get(TRAINED)
if trained:
    show_results(trained)

st.subheader("Load bundles saved earlier")
st.caption(
    "A zip downloaded above, from this or an earlier session. Every file's hash is checked before use; the "
    "bundles stay in this session only."
)
load_saved_bundles()
loaded = st.session_state.get("finetune_loaded")
if loaded and all(name in session_bundles() for name in loaded):
    show_loaded(loaded, st.session_state["finetune_loaded_verdicts"])
    load_training_expression(loaded)

if job is not None and not job.active and st.session_state.get(OUTCOME_DRAWN) is not job:
    # Reached only by a run that drew the outcome. Once more, so that the progress fragment is drawn without its
    # once-a-second timer: its ticks, with nothing left to draw, cost a script run each and removed the results'
    # heading drawn after it (a CI browser run waited 30 minutes for it).
    st.session_state[OUTCOME_DRAWN] = job
    st.rerun()
