"""Model performance: how far each model's numbers can be trusted, one number per model, summary first."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.config import models_dir
from core.data.summary import dataset_label
from core.evaluation.evidence import CHANCE, CHANCE_LEVEL_P, NO_BETTER, SIGNIFICANCE, WEAK
from core.evaluation.metrics import glossary
from core.evaluation.performance import (
    DETAIL_SCORE_LABELS,
    DETAIL_SCORES,
    HEADLINE,
    HEADLINE_SCORES,
    NAIVE_LABELS,
    SCORE_LABELS,
    benchmark_table,
    drug_medians,
    model_label,
    model_rows,
    naive_scores,
    per_drug_errors,
    readable_summary,
    shipped_vs_grid,
    single_run_seed_sd,
    size_curve,
)
from core.study_design import TARGET_COHORT, TRAINING_LABELS, TRAININGS
from dashboard.bundles import (
    ARCHITECTURES,
    bundle_cached,
    bundle_evaluation,
    bundle_evidence,
    bundle_grid,
    held_out_evidence,
    no_bundles_message,
)
from dashboard.widgets import score_columns

TRAINING_LABEL_ORDER = [TRAINING_LABELS[k] for k in TRAININGS]
COLOURS = {
    "from scratch": "#d68910",
    "fine-tuned": "#1e8449",
    "zero-shot": "#7f8c8d",
    NAIVE_LABELS["naive_drug_mean"]: "#85c1e9",
    NAIVE_LABELS["naive_sample_mean"]: "#2e86c1",
    NAIVE_LABELS["naive_additive"]: "#1b4f72",
}
ROW_HEIGHT = 35  # st.dataframe's row height in pixels: tables are sized to show every row
TRAINING_COLUMN = {"training": st.column_config.TextColumn(width=220)}  # "naive: drug + organoid means" uncut
# How the summary counts the models short of ordering organoids, strongest evidence first.
SHORT_OF_ORDERING = {
    WEAK: f"weak evidence (p < {CHANCE_LEVEL_P:g})",
    CHANCE: "within chance",
    NO_BETTER: "no better than each drug's average",
}


def full_height(table: pd.DataFrame) -> int:
    """A dataframe height that shows every row (no inner scroll hiding the last ones)."""
    return ROW_HEIGHT * (len(table) + 1) + 3


def score_table(table: pd.DataFrame, labels: dict[str, str]) -> tuple[pd.DataFrame, dict[str, object]]:
    """The architecture, training and ``labels``' score columns of ``table`` under their labels, and their column
    formats (:func:`dashboard.widgets.score_columns`)."""
    keys = [key for key in labels if key in table.columns]
    shown, config = score_columns(
        table[["architecture", "training", *keys]].rename(columns=labels), [labels[key] for key in keys]
    )
    return shown, {**TRAINING_COLUMN, **config}


def stored_table(file_name: str, columns: set[str], numbers: tuple[str, ...] = (), **read: Any) -> pd.DataFrame | None:
    """A table of the benchmark beside the bundles, or None when it is missing or damaged (unreadable, without
    ``columns``, or with text among its ``numbers``): a damaged file hides its own section, not the page."""
    try:
        table = pd.read_csv(models_dir() / "benchmark" / file_name, **read)
    except (OSError, ValueError):
        return None
    if not columns | set(numbers) <= set(table.columns):
        return None
    return table if all(pd.api.types.is_numeric_dtype(table[c]) for c in numbers) else None


def shipped_models(grid: dict[str, dict[str, str]]) -> pd.DataFrame:
    """One row per bundle of the grid (see :func:`core.evaluation.performance.model_rows`)."""
    return model_rows(
        (architecture, training, bundle_evaluation(name)[1], bundle_evidence(name))
        for architecture, trainings in grid.items()
        for training, name in trainings.items()
    )


def grade_counts(grid: dict[str, dict[str, str]]) -> str:
    """How many models fall short of ordering organoids, grade by grade: "2 weak evidence (p < 0.25), 3 ..."."""
    grades = [bundle_evidence(name).grade for trainings in grid.values() for name in trainings.values()]
    counted = [f"{grades.count(grade)} {words}" for grade, words in SHORT_OF_ORDERING.items() if grade in grades]
    if len(counted) < 2:
        return "".join(counted)
    return ", ".join(counted[:-1]) + " and " + counted[-1]


def evidence_section(models: pd.DataFrame, short_of_ordering: str) -> None:
    """The verdict in one box, graded, then one number per model."""
    n_ordering = int(models["orders"].sum())
    if n_ordering == 0:
        st.error(
            f"**None of these {len(models)} models orders the reference organoids within a drug better than "
            f"chance** (permutation p < {SIGNIFICANCE:g}): {short_of_ordering}. Read their rankings as each "
            "drug's average potency with model noise, not as a patient-specific prediction."
        )
    else:
        st.success(
            f"{n_ordering} of {len(models)} models order the reference organoids within a drug better than "
            f"chance (permutation p < {SIGNIFICANCE:g})"
            + (f"; the others: {short_of_ordering}." if short_of_ordering else ".")
        )
    shown = models[["architecture", "training", HEADLINE, "permutation p", "chance level (SD)", "verdict"]]
    shown = shown.rename(columns=SCORE_LABELS).sort_values(SCORE_LABELS[HEADLINE], ascending=False)
    st.dataframe(
        shown,
        hide_index=True,
        key="performance_evidence",
        height=full_height(shown),
        column_config={
            c: st.column_config.NumberColumn(format="%.2f")
            for c in (SCORE_LABELS[HEADLINE], "permutation p", "chance level (SD)")
        }
        | {"verdict": st.column_config.TextColumn(width="large")},
    )
    st.caption(
        glossary([HEADLINE]) + " **permutation p**: how often organoids shuffled at random score as well. "
        "**chance level**: the spread of those shuffled scores."
    )


def held_out_section(grid: dict[str, dict[str, str]]) -> None:
    """Every model's within-drug score on GDSC's colorectal lines, and whether it counts: the evidence with power
    that decides which model a page opens on (:mod:`core.evaluation.default_model`)."""
    rows = [
        {
            "architecture": ARCHITECTURES.get(architecture, architecture),
            "training": TRAINING_LABELS.get(training, training),
            "within-drug r": found.evidence.within_drug,
            "permutation p": found.evidence.p_value,
            "lines": found.samples,
            "never seen in training": "yes" if found.independent else "no",
            "verdict": found.verdict_words,
        }
        for architecture, trainings in grid.items()
        for training, name in trainings.items()
        if (found := held_out_evidence(name)) is not None
    ]
    if not rows:
        return
    st.subheader("Evidence with power: GDSC's colorectal cell lines")
    shown = pd.DataFrame(rows)
    st.dataframe(
        shown,
        hide_index=True,
        key="performance_held_out",
        height=full_height(shown),
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("within-drug r", "permutation p")}
        | {"verdict": st.column_config.TextColumn(width="large")},
    )
    st.caption(
        "The same score on GDSC's colorectal lines, aligned onto the reference organoids as another lab's cohort "
        "would be: shuffled lines spread about 0.035 here against 0.10-0.20 on 19 organoids. It counts only for a "
        "model whose training never saw the lines (the shipped pre-training did). Each page opens on the model "
        "shown to order these lines, never on one shown to order them the wrong way; the organoid score above "
        "decides between the rest."
    )


CALIBRATION_FILE = "calibration/summary.csv"  # written by pdo-calibration-study
CALIBRATION_NUMBERS = ("skill_vs_coin", "skill_vs_coin_low", "skill_vs_coin_high")


def calibration_section() -> None:
    """Whether the ranking's P is calibrated: its Brier skill against a coin on the held-out sets, with intervals
    (``pdo-calibration-study``); nothing when the study's table is missing or damaged."""
    summary = stored_table(CALIBRATION_FILE, {"bundle", "held_out", "external", "p_shown"}, CALIBRATION_NUMBERS)
    if summary is None:
        return
    st.subheader("Is P (more sensitive) calibrated?")
    parts = summary["bundle"].str.split("_", expand=True)
    shown = pd.DataFrame(
        {
            "architecture": parts[1].map(lambda a: ARCHITECTURES.get(a, a)),
            "training": parts[2].map(lambda k: TRAINING_LABELS.get(k, k)),
            "held-out set": summary["held_out"],
            "a test?": summary["external"].map({True: "yes", False: "no: seen in training"}),
            "P": summary["p_shown"],
            "Brier skill vs a coin": summary["skill_vs_coin"],
            "95 % interval": [
                f"{low:+.3f} to {high:+.3f}"
                for low, high in zip(summary["skill_vs_coin_low"], summary["skill_vs_coin_high"])
            ],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        key="performance_calibration",
        height=full_height(shown),
        column_config={"Brier skill vs a coin": st.column_config.NumberColumn(format="%+.3f")},
    )
    st.caption(
        "**P** as the ranking shows it (a coin's 0.50 for drugs whose reliability reaches 0: every drug today) and "
        "as the posterior average would give it. Skill 0 = a coin; above 0 = better. Out-of-fold organoids: each "
        "organoid's P from the others' evidence only. Details and reliability diagrams: "
        "trained_models/benchmark/calibration/README.md."
    )


def evidence_bars(models: pd.DataFrame, naive: pd.DataFrame) -> go.Figure:
    """Each model's within-drug r with its chance whisker, and every naive baseline as a marker."""
    figure = px.bar(
        models,
        x="architecture",
        y=HEADLINE,
        color="training",
        barmode="group",
        error_y=models["chance level (SD)"] * 1.645,
        hover_data=["permutation p"],
        category_orders={"training": TRAINING_LABEL_ORDER},
        labels={HEADLINE: f"{SCORE_LABELS[HEADLINE]} (cross-validated)", "architecture": ""},
        color_discrete_map=COLOURS,
    )
    for _, row in naive.iterrows():
        label = NAIVE_LABELS[row["model"]]
        figure.add_trace(
            go.Scatter(
                x=["naive baselines"],
                y=[row[HEADLINE]],
                name=label,
                mode="markers",
                marker={
                    "symbol": "diamond",
                    "size": 13,
                    "color": COLOURS[label],
                    "line": {"width": 1, "color": "white"},
                },
                hovertemplate=f"{label}: %{{y:.2f}}<extra></extra>",
            )
        )
    figure.add_hline(y=0, line_dash="dash", line_color="#c0392b")
    figure.update_layout(height=400, bargap=0.35, scattermode="group")
    return figure


def bundle_errors(name: str, training: str, with_naive: bool) -> pd.DataFrame:
    return bundle_cached(
        name,
        ("errors", with_naive),
        lambda: per_drug_errors(bundle_evaluation(name)[2], TRAINING_LABELS.get(training, training), with_naive),
    )


def error_figures(grid: dict[str, dict[str, str]], architecture: str) -> tuple[pd.DataFrame, list[str]]:
    """Per-pair absolute errors of the architecture's models and the naive per-drug mean, and the models shown."""
    parts = [
        bundle_errors(name, training, with_naive=i == 0)
        for i, (training, name) in enumerate(grid[architecture].items())
    ]
    errors = pd.concat(parts, ignore_index=True)
    return errors, [m for m in COLOURS if m in set(errors["model"])]


def compact_errors(errors: pd.DataFrame, models: list[str]) -> go.Figure:
    """One box per model over drugs (each point a drug's median error): the 81-drug picture in one line each."""
    medians = drug_medians(errors)
    figure = px.box(
        medians,
        x="absolute error",
        y="model",
        color="model",
        points="all",
        hover_data=["drug"],
        category_orders={"model": models},
        color_discrete_map=COLOURS,
        orientation="h",
        labels={"absolute error": "median |predicted - observed| per drug (scaled response)", "model": ""},
    )
    figure.update_layout(height=90 + 55 * len(models), showlegend=False)
    return figure


def every_drug_errors(errors: pd.DataFrame, models: list[str]) -> go.Figure:
    order = errors.groupby("drug")["absolute error"].median().sort_values().index
    figure = px.box(
        errors,
        y="drug",
        x="absolute error",
        color="model",
        color_discrete_map=COLOURS,
        orientation="h",
        category_orders={"drug": list(order), "model": models},
        labels={"absolute error": "|predicted - observed| (scaled response)", "drug": ""},
    )
    figure.update_layout(
        height=max(420, (10 + 8 * len(models)) * errors["drug"].nunique() + 160),
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        boxgroupgap=0.1,
        boxgap=0.2,
    )
    return figure


def curve_figure(curve: pd.DataFrame, shipped: pd.DataFrame, metric: str) -> go.Figure:
    """One panel per architecture, one line per training; stars: the shipped models."""
    shown = curve.assign(
        architecture=curve["architecture"].map(ARCHITECTURES), training=curve["training"].map(TRAINING_LABELS)
    )
    panels = [ARCHITECTURES[a] for a in ARCHITECTURES if a in set(curve["architecture"])]
    figure = px.line(
        shown,
        x="pairs",
        y=metric,
        color="training",
        facet_col="architecture",
        markers=True,
        log_x=True,
        color_discrete_map=COLOURS,
        category_orders={"architecture": panels, "training": TRAINING_LABEL_ORDER},
        labels={"pairs": "organoid training pairs", metric: DETAIL_SCORE_LABELS[metric]},
    )
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    ends = curve[curve["n_finetune"].isin(["all", "0"])].set_index(["architecture", "training"])["pairs"]
    for column, panel in enumerate(panels, start=1):
        mine = shipped[shipped["architecture"] == next(a for a, label in ARCHITECTURES.items() if label == panel)]
        x = [ends.get((a, k)) for a, k in zip(mine["architecture"], mine["training"])]
        labels = mine["training"].map(TRAINING_LABELS)
        figure.add_trace(
            go.Scatter(
                x=x,
                y=mine["shipped"],
                mode="markers",
                name="shipped model (star)",
                showlegend=column == 1,
                text=labels,
                marker={
                    "symbol": "star",
                    "size": 16,
                    "color": labels.map(COLOURS),
                    "line": {"width": 1.5, "color": "#000000"},
                },
                hovertemplate="shipped, %{text}: %{y:.2f}<extra></extra>",
            ),
            row=1,
            col=column,
        )
    ticks = curve.drop_duplicates("n_finetune").sort_values("pairs")
    figure.update_xaxes(tickvals=ticks["pairs"], ticktext=ticks["n_finetune"].replace({"0": "none"}), tickangle=0)
    figure.update_layout(height=380, legend={"orientation": "h", "y": 1.12, "yanchor": "bottom"})
    return figure


def seed_sentence(seeds: pd.DataFrame | None) -> str:
    """How far five seeds moved one model's within-drug r: the same story as the curve's second runs."""
    if seeds is None or seeds.empty:
        return ""
    return (
        f" Retrained with five seeds (below), one model's within-drug r spans up to "
        f"{(seeds['max'] - seeds['min']).max():.2f}: a single run moves this score by a few tenths, so a difference "
        "of that size between two models, or two sizes, is not evidence."
    )


def difference_sentence(comparison: pd.DataFrame, metric: str) -> str:
    """One plain sentence on why the curve's end and the star of the same model differ, with the largest gap."""
    trained = comparison[comparison["training"] != "zeroshot"].dropna(subset=["grid"])
    if trained.empty:
        return "Stars: the shipped models, the numbers in the tables above."
    worst = trained.loc[trained["difference"].abs().idxmax()]
    name = f"{ARCHITECTURES.get(worst['architecture'], worst['architecture'])} {TRAINING_LABELS[worst['training']]}"
    return (
        f"Stars are the shipped models, the numbers in the tables above. Each line point is a separate training "
        "run on the same folds, so the rightmost point is a second run of the shipped configuration, not the "
        f"shipped model: the two differ by up to {abs(worst['difference']):.2f} on this score ({name}: "
        f"{worst['shipped']:+.2f} shipped, {worst['grid']:+.2f} in the curve), which is how far a single training "
        "run can move it. Zero-shot points are the shipped model itself and coincide with their stars."
    )


st.title("Model performance")
grid = bundle_grid()
if not grid:
    no_bundles_message()
    st.stop()
models = shipped_models(grid)
first_bundle = next(iter(next(iter(grid.values())).values()))
naive = bundle_cached(first_bundle, "naive", lambda: naive_scores(*bundle_evaluation(first_bundle)[1:]))
best = models.loc[models[HEADLINE].idxmax()]
st.markdown(
    "**In short**: a z-score ranking is only as good as the model's ability to tell, for one drug, which organoids "
    f"respond better. That ability is measured below as the **{SCORE_LABELS[HEADLINE]}** (0 = no better than "
    f"knowing each drug's average). The best model here reaches {best[HEADLINE]:+.2f} ({best['architecture']}, "
    f"{best['training']}: {best['verdict'][0].lower()}{best['verdict'][1:]}), and {int(models['orders'].sum())} of "
    f"{len(models)} beat chance. Every number is cross-validated: each reference organoid was predicted by a model "
    "that never saw it."
)

st.subheader("Can these models order organoids within a drug?")
evidence_section(models, grade_counts(grid))
st.plotly_chart(evidence_bars(models, naive), key="performance_bars")
st.caption(
    f"Bars: each model's {SCORE_LABELS[HEADLINE]}; whiskers: what shuffled organoids reach (one-sided 5 %), so a bar "
    "whose whisker crosses 0 is within chance. Diamonds: the naive baselines, which all score 0 here."
)

st.subheader("Cross-validated benchmark")
table = benchmark_table(models.drop(columns=["key", "orders", "verdict", "permutation p", "chance level (SD)"]), naive)
shown, formats = score_table(table, SCORE_LABELS)
st.dataframe(shown, hide_index=True, key="performance_table", height=full_height(table), column_config=formats)
st.caption(glossary([key for key in HEADLINE_SCORES if key != HEADLINE]))  # the headline is explained above
with st.expander("All scores, and the older within-drug score"):
    shown, formats = score_table(table, DETAIL_SCORE_LABELS)
    st.dataframe(shown, hide_index=True, height=full_height(table), key="performance_details", column_config=formats)
    st.caption(glossary(DETAIL_SCORES[len(HEADLINE_SCORES) :]))

held_out_section(grid)
calibration_section()

st.subheader("Where the models err, drug by drug")
architecture = st.radio(
    "Architecture",
    list(grid),
    format_func=lambda a: ARCHITECTURES.get(a, a),
    horizontal=True,
    key="performance_architecture",
)
errors, error_models = error_figures(grid, architecture)
st.plotly_chart(compact_errors(errors, error_models), key="performance_errors_compact")
st.caption(
    "Each point is one drug: the median error over the reference organoids screened with it. Responses are "
    "scaled to 0-1; compare each model with the naive per-drug mean."
)
with st.expander(f"Every drug ({errors['drug'].nunique()} boxes)"):
    chosen = st.multiselect("Models", error_models, default=error_models, key="performance_models")
    if chosen:
        st.plotly_chart(every_drug_errors(errors[errors["model"].isin(chosen)], chosen), key="performance_boxes")

summary = stored_table("summary.csv", {"dataset", "split"}, dtype={"n_finetune": str})
spread = stored_table("seed_spread.csv", {"model", "score"}, numbers=("mean", "sd", "min", "max"))
seeds = None if spread is None else spread.loc[single_run_seed_sd(spread).index]  # single models, within-drug r
if summary is not None:
    st.subheader("Does more organoid data help?")
    curve = size_curve(summary, list(ARCHITECTURES))
    metrics = [m for m in (HEADLINE, "paper_precision_oncology", "mse") if m in curve.columns]
    if not curve.empty and metrics:
        metric = st.radio(
            "Score", metrics, horizontal=True, format_func=DETAIL_SCORE_LABELS.get, key="performance_size_metric"
        )
        shipped = {key: float(value) for key, value in zip(models["key"], models.get(metric, pd.Series(dtype=float)))}
        comparison = shipped_vs_grid(curve, shipped, metric)
        st.plotly_chart(curve_figure(curve, comparison, metric), key="performance_sizes")
        st.caption(
            "Colorectal organoids, the same 5 folds. Each size is a random subset of a fold's training pairs; "
            "the leftmost point is the zero-shot model (pre-trained on cell lines only), the rightmost all "
            "pairs. " + difference_sentence(comparison, metric) + (seed_sentence(seeds) if metric == HEADLINE else "")
        )
    if spread is not None and not seeds.empty:
        with st.expander(
            f"How much one training run varies: over five seeds, one model's within-drug r spans up to "
            f"{(seeds['max'] - seeds['min']).max():.2f} (SD {seeds['sd'].min():.2f} to {seeds['sd'].max():.2f}, "
            "by model)"
        ):
            st.dataframe(
                spread.assign(
                    model=spread["model"].map(lambda m: " - ".join(map(model_label, m.split(" - ")))),
                    score=spread["score"].map(DETAIL_SCORE_LABELS),
                ),
                hide_index=True,
                key="performance_seed_spread",
                height=full_height(spread),
                column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("mean", "sd", "min", "max")},
            )
            st.caption(
                "The same models retrained with five seeds on the same folds, scored with the older pooled "
                "within-drug r. **sd**: how far one run typically moves; **min** to **max**: how far the five runs "
                "went. A difference between two models smaller than that span can be the seed's doing."
            )

    with st.expander("Other cohorts: every model and baseline of the benchmark"):
        datasets = sorted(summary["dataset"].unique())
        dataset = st.selectbox(
            "Dataset",
            datasets,
            format_func=dataset_label,
            key="performance_dataset",
            index=datasets.index(TARGET_COHORT) if TARGET_COHORT in datasets else 0,
        )
        cohort_table = readable_summary(summary[summary["dataset"] == dataset])
        st.dataframe(cohort_table, hide_index=True, key="performance_summary", height=full_height(cohort_table))
        st.caption(
            "Models of the pancreatic organoids, Beat AML and CCLE are the published predictions of Prasse "
            "et al., scored here with the naive baselines on the paper's folds. **new patients**: each sample "
            "predicted by a model that never saw it; **new drugs**: each drug likewise."
        )
else:
    st.caption("This installation holds no benchmark across training-set sizes and cohorts.")
