"""Drug ranking: each drug's predicted AUC as a z-score against the reference cohort, scratch vs fine-tuned."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.evaluation.metrics import TOP_DRUGS_OVERLAP
from core.explain.bundle_attributions import DEFAULT_VIEW, VIEWS
from core.study_design import TRAINING_LABELS, TRAINING_TITLES
from core.usecases.organoid_figures import z_score_scatter
from core.usecases.organoid_report import ReportedGenes, ReportedModel, organoid_report_html
from core.usecases.ranking import (
    drugs_to_explain,
    ranking_agreement,
    reference_label,
    shown_trainings,
)
from core.usecases.ranking_table import (
    TIE_SENTENCE,
    TIED_WITH_FIRST,
    TIED_WITH_NEIGHBOUR,
    display_table,
    highlighted_top,
    outside_assay_range,
    ranking_columns,
    reference_sentence,
)
from dashboard.bundles import (
    ARCHITECTURES,
    bundle_grid,
    held_out_evidence,
    load_or_stop,
    n_reference,
    no_bundles_message,
    readable_evidence,
)
from dashboard.explanations import organoid_genes_of
from dashboard.session import (
    PROFILE_ID,
    has_reference_expression,
    prepared,
    profile,
    sample_verdict,
    using_session_models,
)
from dashboard.widgets import (
    DOWNLOAD_ONLY,
    DRUG,
    choose_architecture,
    csv_bytes,
    download_name,
    organoid_ranking_by,
    remember_looked_at,
    remembered_choice,
    require_profile,
    show_evidence,
)


def styled(table: pd.DataFrame, unit: str, highlight: bool):
    """The ranking with the top drugs highlighted, unless the profile is out of range (formats and headers come
    from ``column_config``)."""
    shown = display_table(table, unit)
    top = highlighted_top(table, TOP_DRUGS_OVERLAP) & highlight
    return shown.style.apply(
        lambda row: ["background-color: #d5f5e3; font-weight: 600" if top[row.name] else "" for _ in row], axis=1
    )


# Ranking tables side by side. At 1440 px (sidebar open) two leave each about 460 px: the columns a row is judged by
# (rank, drug, z, CV r, <= naive: 380 px, the longest drug name uncut) show without scrolling; three would not.
TABLES_PER_ROW = 2


def column_config(unit: str) -> dict:
    """Headers, formats and order of the ranking table; ``unit`` is the bundle's response (AUC, ln IC50, ...).
    What a row is judged by comes first (drug, the calibrated probability, z, whether the model is better than a
    coin for the drug), then the raw cross-validated evidence, the uncertainty and ties, and the predicted response
    last."""
    headers = ranking_columns(unit)
    return {
        "rank": st.column_config.NumberColumn(
            "rank", width=40, help="1 = most likely more sensitive (highest P), then the most negative z-score"
        ),
        "drug": st.column_config.TextColumn("drug", width=170),
        headers["p_more_sensitive"]: st.column_config.NumberColumn(
            "P",
            format="%.2f",
            width=50,
            help="Probability that this organoid is more sensitive to the drug than the median reference organoid, "
            "from its z and how reliably the model ordered the reference organoids for this drug (shrunk across "
            "drugs). 0.50 = a coin: the evidence cannot tell the model's ordering for this drug from chance.",
        ),
        "z-score": st.column_config.NumberColumn(
            "z",
            format="%+.2f",
            width=55,
            help="(prediction - reference mean) / reference SD; negative = more "
            "sensitive than the average reference organoid",
        ),
        headers["coin"]: st.column_config.CheckboxColumn(
            "coin", width=48, help="No better than a coin for this drug: the 95 % interval of its reliability reaches 0"
        ),
        headers["reliability_r"]: st.column_config.NumberColumn(
            "CV r",
            format="%+.2f",
            width=55,
            help="Cross-validated within-drug correlation of this bundle for this drug "
            "(0 = the naive per-drug mean)",
        ),
        "no better than naive": st.column_config.CheckboxColumn(
            "≤ naive", width=62, help="No better than naive: cross-validated within-drug r <= 0 (or not computable)"
        ),
        "± z": st.column_config.NumberColumn(
            "± z",
            format="%.2f",
            width=48,
            help="Uncertainty of z: the spread of the model's cross-validated members in units of the reference "
            "SD. Drugs whose z differ by less than this cannot be told apart.",
        ),
        headers["tie"]: st.column_config.TextColumn(
            "tied?",
            width=55,
            help=f"{TIED_WITH_FIRST}: its z ± interval overlaps rank 1's (cannot be told apart from "
            f"the top drug); {TIED_WITH_NEIGHBOUR}: it overlaps the drug ranked just above or below",
        ),
        headers["predicted"]: st.column_config.NumberColumn(
            unit, format="%.3f", width=58, help=f"Predicted {unit} (mean of the model's cross-validated members)"
        ),
        headers["uncertainty"]: st.column_config.NumberColumn(
            f"± {unit}",
            format="%.3f",
            width=58,
            help=f"Uncertainty: SD of the members' predictions, in {unit} units",
        ),
    }


def spread_columns(unit: str) -> tuple[str, ...]:
    """The columns that read the fold models' spread: empty for a model whose spread is withheld."""
    headers = ranking_columns(unit)
    return "± z", headers["uncertainty"], headers["tie"]


sample = require_profile()
grid = bundle_grid()
if not grid:
    no_bundles_message()
    st.stop()

st.title("Drug ranking")
architecture = choose_architecture("ranking_architecture", require=("scratch", "finetuned"))
trainings_present = grid[architecture]
# Best evidence first: the models the ranking opens on (zero-shot among them when its evidence leads), left to right.
found = {training: readable_evidence(name) for training, name in trainings_present.items()}
trainings = shown_trainings(found, {training: held_out_evidence(name) for training, name in trainings_present.items()})
if "zeroshot" in trainings_present and "zeroshot" not in trainings:
    if st.checkbox(
        "Also show the zero-shot model (pre-trained on GDSC, never trained on organoids)", key="ranking_zeroshot"
    ):
        trainings.append("zeroshot")
missing = [TRAINING_LABELS[k] for k in ("scratch", "finetuned") if k not in trainings_present]
if missing:
    st.warning(f"No usable {' or '.join(missing)} bundle for {ARCHITECTURES.get(architecture, architecture)}.")
if not trainings:
    st.stop()

bundles = {training: load_or_stop(trainings_present[training]) for training in trainings}
first = next(iter(bundles.values()))
n_ref = n_reference(first)
cohort_label = reference_label(first.manifest)
unit = first.response_unit
st.markdown(
    f"Organoid **{sample}**. Drugs are ranked by **P**, the probability that this organoid is more sensitive to "
    "the drug than the median reference organoid (from z and how reliably the model ordered the reference organoids "
    "for that drug), then by z, most negative first. A drug the model is no better than a coin for gets P = 0.50, "
    "however extreme its z. Of each model's top "
    f"{TOP_DRUGS_OVERLAP}, those with evidence for sensitivity are highlighted; **± z** is the uncertainty, so drugs "
    f"whose z differ by less than it are not told apart. Lower {first.response_unit} = more sensitive."
)
verdict = sample_verdict(sample)
if verdict is not None and not verdict.in_range:
    st.error(
        f"**Out of range: organoid {sample} does not look like the reference organoids, so its z-scores are not "
        f"comparable with theirs and no drug is highlighted as a top drug.** {verdict.message}",
        icon=":material/warning:",
    )
elif verdict is None and not using_session_models():
    st.warning("This profile could not be checked against the reference organoids (see Upload & QC).")
reading = prepared()
if reading is not None and not using_session_models():
    st.caption(f"How the profile was read: {reading.explanation}")
highlight = verdict is None or verdict.in_range
st.info(f"**{reference_sentence(n_ref, cohort_label)}**")
st.markdown(TIE_SENTENCE)

with st.spinner("Predicting every drug with every fold model..."):
    tables = {training: organoid_ranking_by(bundles[training].name, sample) for training in trainings}

# Rows of TABLES_PER_ROW columns, best evidence first (a third model goes below the first).
columns = [column for _ in range(0, len(trainings), TABLES_PER_ROW) for column in st.columns(TABLES_PER_ROW)]
for column, training in zip(columns, trainings):
    b, table = bundles[training], tables[training]
    with column:
        st.subheader(TRAINING_TITLES[training])
        show_evidence(b.name)
        st.caption(
            f"{ARCHITECTURES.get(architecture, architecture)} {TRAINING_LABELS[training]}, built "
            f"{b.manifest.created[:10]}: the mean of {len(b.members)} models, each trained with a different part of "
            "the reference organoids held out. Within-drug r: how well it ordered the reference organoids for a drug in cross-validation, "
            "within each test fold (0 = a drug's average); p: how often shuffled organoids did as well."
        )
        shown_columns = column_config(unit)
        # Withheld spread (zero-shot): its ± and tie columns are left out rather than shown empty ("None").
        order = [c for c in shown_columns if table["z_uncertainty"].notna().any() or c not in spread_columns(unit)]
        st.dataframe(
            styled(table, unit, highlight),
            hide_index=True,
            height=min(35 * (len(table) + 1) + 3, 705),
            column_config=shown_columns,
            column_order=order,
            key=f"ranking_table_{training}",
        )
        if table["coin"].all():
            st.warning(
                "**No better than a coin for every drug**: no drug's reliability for this model can be told from 0 "
                "(P = 0.50 throughout). The order is the model's z-scores, not evidence; nothing is highlighted."
            )
        elif table["z_score"].min() >= 0:
            st.warning(
                f"No drug is predicted more sensitive than the average reference organoid: rank 1 has z = "
                f"{table['z_score'].min():+.2f}, so nothing is highlighted."
            )
        n_tied = int((display_table(table, unit)["tied?"] == TIED_WITH_FIRST).sum())
        if table["z_uncertainty"].notna().any():
            st.caption(
                f"**{n_tied} of {len(table) - 1}** drugs below rank 1 cannot be told apart from it (z ± "
                "intervals overlap)."
            )
        if training == "zeroshot":
            st.caption(
                "No ensemble spread: the zero-shot members are one pre-trained network (they differ only in the "
                "ComBat fit), so no uncertainty is shown for it."
            )
        outside = outside_assay_range(table, unit)
        if outside:
            st.warning(
                f"{len(outside)} drug(s) predicted outside 0-1, the range an AUC can take ({', '.join(outside[:5])}"
                f"{', ...' if len(outside) > 5 else ''}): the model extrapolates; read them as at the edge of "
                "the screen, not as precise values."
            )
        st.download_button(
            "Download CSV",
            csv_bytes(display_table(table, unit)),
            file_name=download_name(b.name, sample, "ranking", suffix=".csv"),
            mime="text/csv",
            key=f"download_{training}",
            on_click=DOWNLOAD_ONLY,
        )

n_flagged = int(tables[trainings[0]]["no_better_than_naive"].sum())
st.caption(
    f"**{unit}**: predicted {unit} (mean of the model's cross-validated members); **± {unit}**: their spread (SD), "
    "the uncertainty; "
    "**P**: the probability that the organoid is more sensitive than the median reference organoid, from z and "
    "the drug's reliability (shrunk across drugs); the table is ranked by it, then by z; **coin**: no better than a "
    "coin for this drug (its reliability's 95 % interval reaches 0; P = 0.50). "
    "**z**: z-score against the reference cohort; **± z**: its uncertainty; **CV r**: the bundle's cross-validated "
    "within-drug correlation for the drug. "
    "**≤ naive** (no better than naive): the bundle's cross-validated within-drug correlation (how well it ordered the "
    "reference organoids for this drug, after removing the drug's average) is at or below 0, or could not be "
    f"computed: for these drugs the ranking reflects the drug's average potency, not this organoid. "
    f"{n_flagged} of {len(tables[trainings[0]])} drugs are flagged for the {TRAINING_LABELS[trainings[0]]} model. The CSV "
    "download holds the same columns."
)

scatter = None
if "scratch" in tables and "finetuned" in tables:
    st.subheader("Do the two models agree?")
    agreement = ranking_agreement(tables["scratch"], tables["finetuned"])
    left, middle, right = st.columns(3)
    left.metric("Spearman rank correlation", f"{agreement.spearman:.2f}")
    middle.metric(f"Top-{TOP_DRUGS_OVERLAP} overlap", f"{agreement.top_overlap} of {TOP_DRUGS_OVERLAP}")
    right.metric("Drugs compared", agreement.n_drugs)
    scatter = z_score_scatter(tables["scratch"], tables["finetuned"], "from scratch", "fine-tuned")
    st.plotly_chart(scatter, key="ranking_scatter", width="content")  # drawn at the size its labels were placed for
    if agreement.shared_top:
        st.caption(f"In both top {TOP_DRUGS_OVERLAP}: {', '.join(agreement.shared_top)}.")

st.subheader("Explain a drug")
drugs = list(tables[trainings[0]]["drug"])
default_drug = st.session_state.get(DRUG) if st.session_state.get(DRUG) in drugs else drugs[0]
drug = remembered_choice("Drug", drugs, DRUG, "ranking_drug", default=default_drug)
remember_looked_at(trainings[0], drug)  # the genes and pathways pages open on this model and drug
go_genes, go_pathways, _ = st.columns([1, 1, 3])
if go_genes.button("Genes behind it", icon=":material/genetics:", key="to_genes"):
    st.switch_page("views/genes.py")
if go_pathways.button("Pathways", icon=":material/hub:", key="to_pathways"):
    st.switch_page("views/pathways.py")

st.subheader("Report")
genes_training = trainings[0]  # the model with the best evidence, shown first
genes_bundle = bundles[genes_training]
report_drugs = drugs_to_explain(tables[genes_training], drug)
report_view = DEFAULT_VIEW if has_reference_expression(genes_bundle.name) else "absolute"
st.caption(
    f"An HTML file with both rankings, the scatter plot and the {VIEWS[report_view].label.lower()} genes behind "
    f"{', '.join(report_drugs)} for organoid {sample} (opens offline in any browser)."
)
if st.button("Prepare HTML report", key="prepare_report"):
    with st.spinner(f"Computing the genes behind {len(report_drugs)} drugs..."):
        genes = organoid_genes_of(genes_bundle.name, sample, report_drugs, report_view)
    current = profile()
    html = organoid_report_html(
        sample=sample,
        models=[
            ReportedModel(
                TRAINING_TITLES[training],
                bundles[training].manifest,
                readable_evidence(bundles[training].name),
                tables[training],
                held_out_evidence(bundles[training].name),
            )
            for training in trainings
        ],
        n_reference=n_ref,
        cohort=cohort_label,
        scatter=scatter,
        genes=ReportedGenes(genes_bundle.name, VIEWS[report_view].sentence(), genes),
        qc_text=current.check.to_text() if current is not None else None,
        generated=dt.datetime.now(dt.timezone.utc),
        unit=unit,
        alignment=reading.explanation if reading is not None and not using_session_models() else None,
        out_of_range=None if highlight else verdict.message,
    )
    st.session_state["report_html"] = (st.session_state.get(PROFILE_ID), sample, architecture, drug, html)
prepared = st.session_state.get("report_html")
if prepared and prepared[:4] == (st.session_state.get(PROFILE_ID), sample, architecture, drug):
    st.download_button(
        "Download HTML report",
        prepared[4].encode("utf-8"),
        file_name=f"{sample}_drug_report.html",
        mime="text/html",
        key="download_report",
        on_click=DOWNLOAD_ONLY,
        type="primary",
    )
