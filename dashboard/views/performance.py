"""Model performance: cross-validated scores of every bundle next to the naive baselines."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.config import models_dir
from core.evaluation.cohort_scores import scored_table
from dashboard.common import (
    ARCHITECTURES,
    KIND_SHORT,
    bundle_evaluation,
    bundle_evidence,
    bundle_grid,
    no_bundles_message,
)

METRICS = {
    "paper_precision_oncology": "paper score",
    "within_drug_fold_pearson": "within-drug Pearson",
    "within_drug_pearson": "within-drug Pearson, pooled residuals (older)",
    "within_drug_spearman": "within-drug Spearman, pooled residuals (older)",
    "top5_overlap": "top-5 overlap",
    "top5_random": "top-5 by chance",
    "mse": "MSE",
    "paper_drug_development": "paper drug score",
}
COLOURS = {"from scratch": "#d68910", "fine-tuned": "#1e8449", "zero-shot": "#7f8c8d", "naive: per-drug mean": "#85c1e9"}
NAIVE = {"naive_drug_mean": "naive: per-drug mean", "naive_sample_mean": "naive: per-organoid mean",
         "naive_additive": "naive: drug + organoid means"}

st.title("Model performance")
st.markdown(
    "Every number below is cross-validated over the reference organoids (each organoid predicted by a model that "
    "never saw it), next to naive baselines scored on the same folds."
)
st.info(
    "**Why the within-drug score is the number that matters.** The paper's score correlates predicted and observed "
    "responses across the drugs of one organoid, which mostly measures how potent each drug is on average, so the "
    "per-drug mean alone, knowing nothing about the organoid, already wins it. A z-score asks something else: does "
    "the model order organoids correctly for the same drug, and the within-drug score measures exactly that, with "
    "the naive per-drug mean at 0."
)

grid = bundle_grid()
if not grid:
    no_bundles_message()
    st.stop()

st.subheader("Can these models order organoids within a drug?")
evidence_rows = []
for architecture, kinds in grid.items():
    for kind, name in kinds.items():
        found = bundle_evidence(name)
        evidence_rows.append({"architecture": ARCHITECTURES.get(architecture, architecture),
                              "training": KIND_SHORT.get(kind, kind), "within-drug r": found.within_drug,
                              "permutation p": found.p_value, "chance level (SD)": found.null_sd,
                              "verdict": found.verdict().split(" (")[0], "orders": found.orders_samples})
evidence_table = pd.DataFrame(evidence_rows)
n_ordering = int(evidence_table["orders"].sum())
if n_ordering == 0:
    st.error(f"**None of these {len(evidence_table)} models orders the reference organoids within a drug better than "
             "chance.** Read their rankings as each drug's average potency with model noise, not as a patient-specific "
             "prediction. The best is listed first.")
else:
    st.success(f"{n_ordering} of {len(evidence_table)} models order the reference organoids within a drug better than "
               "chance (permutation p < 0.05).")
st.dataframe(evidence_table.drop(columns="orders").sort_values("within-drug r", ascending=False), hide_index=True,
             key="performance_evidence",
             column_config={c: st.column_config.NumberColumn(format="%.2f") for c in
                            ("within-drug r", "permutation p", "chance level (SD)")}
             | {"verdict": st.column_config.TextColumn(width="large")})
st.caption("**within-drug r**: per drug, the Pearson correlation of predicted and observed response across the "
           "reference organoids, each predicted by the fold model that never saw it, after centring both within each "
           "test fold (so a drug's average, and anything that only shifts from fold to fold, scores 0); averaged over "
           "drugs. **permutation p**: how often the same score is reached when the organoids are shuffled within "
           "folds (one shuffle for all drugs, 1,000 shuffles); **chance level**: the SD of those shuffled scores.")

rows, predictions = [], {}
naive_rows = None
for architecture, kinds in grid.items():
    for kind, name in kinds.items():
        _, benchmark, reference = bundle_evaluation(name)
        predictions[(architecture, kind)] = reference
        if benchmark.empty:
            continue
        model_row = benchmark.iloc[[0]].assign(architecture=ARCHITECTURES.get(architecture, architecture),
                                               training=KIND_SHORT.get(kind, kind), bundle=name)
        rows.append(model_row)
        if naive_rows is None:
            naive_rows = benchmark[benchmark["model"].isin(NAIVE)].assign(
                architecture="-", training=lambda t: t["model"].map(NAIVE), bundle="-")
if not rows:
    st.warning("The bundles hold no benchmark tables.")
    st.stop()

table = pd.concat([*rows, naive_rows] if naive_rows is not None else rows, ignore_index=True)
shown = table[["architecture", "training", *[m for m in METRICS if m in table.columns]]].rename(columns=METRICS)
st.subheader("Cross-validated benchmark")
st.dataframe(shown, hide_index=True, key="performance_table",
             column_config={label: st.column_config.NumberColumn(format="%.3f") for label in METRICS.values()})
st.caption("**paper score**: Prasse et al.'s precision-oncology score (per organoid, Pearson r of predicted and "
           "observed response across drugs, averaged); **paper drug score**: the same per drug across organoids, folds "
           "pooled, not normalised. **within-drug Pearson**: the score above (centred within each test fold). **pooled "
           "residuals (older)**: per drug, correlation across organoids after removing the drug's training mean, folds "
           "pooled: it also credits what merely shifts from fold to fold (the naive per-organoid mean scores above 0). **MSE** on the response min-max scaled to the "
           "observed range. None: undefined (e.g. a prediction constant within each organoid). "
           "Naive baselines: the per-drug mean (each drug's average response in the training folds) ignores the "
           "organoid; the per-organoid mean ignores the drug; the additive model uses both averages. Top-5 overlap: "
           "of the 5 drugs with the lowest predicted z-score, how many are among the 5 lowest observed, per organoid.")

st.subheader("Within-drug score per architecture")
figure = px.bar(evidence_table, x="architecture", y="within-drug r", color="training", barmode="group",
                error_y=evidence_table["chance level (SD)"] * 1.645, hover_data=["permutation p"],
                category_orders={"training": [KIND_SHORT[k] for k in ("scratch", "finetuned", "zeroshot")]},
                labels={"within-drug r": "within-drug Pearson (cross-validated)", "architecture": ""},
                color_discrete_map=COLOURS)
figure.add_hline(y=0, line_dash="dash", line_color="#c0392b", annotation_text="naive per-drug mean = 0",
                 annotation_position="top left")
figure.update_layout(height=420, bargap=0.35)
st.plotly_chart(figure, key="performance_bars")
st.caption("Whiskers: 1.645 x the SD of the shuffled-organoid scores; a bar whose whisker crosses 0 is within what "
           "chance produces (one-sided 5 %).")

st.subheader("Per-drug absolute error")
architecture = st.radio("Architecture", list(grid), format_func=lambda a: ARCHITECTURES.get(a, a), horizontal=True,
                        key="performance_architecture")
errors = []
for (arch, kind), reference in predictions.items():
    if arch != architecture:
        continue
    scored = scored_table(reference)
    errors.append(pd.DataFrame({"drug": scored["drug"], "model": KIND_SHORT.get(kind, kind),
                                "absolute error": (scored["y_pred"] - scored["y_true"]).abs()}))
    if len(errors) == 1:
        errors.append(pd.DataFrame({"drug": scored["drug"], "model": NAIVE["naive_drug_mean"],
                                    "absolute error": (scored["baseline"] - scored["y_true"]).abs()}))
if errors:
    long = pd.concat(errors, ignore_index=True)
    available = [m for m in COLOURS if m in set(long["model"])]
    chosen = st.multiselect("Models", available, default=[m for m in ("fine-tuned", NAIVE["naive_drug_mean"])
                                                          if m in available] or available[:1],
                            key="performance_models")
    long = long[long["model"].isin(chosen)]
    if not long.empty:
        order = long.groupby("drug")["absolute error"].median().sort_values().index
        boxes = px.box(long, y="drug", x="absolute error", color="model", color_discrete_map=COLOURS, orientation="h",
                       category_orders={"drug": list(order), "model": chosen},
                       labels={"absolute error": "|predicted - observed| (scaled AUC)", "drug": ""})
        boxes.update_layout(height=max(420, (10 + 8 * len(chosen)) * long["drug"].nunique() + 160),
                            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"}, boxgroupgap=0.1, boxgap=0.2)
        st.plotly_chart(boxes, key="performance_boxes")
    st.caption("Each box: the reference organoids screened with that drug, each predicted by the fold model that "
               "never saw it. Responses are min-max scaled to the observed range (0-1), the paper's scale. Drugs are "
               "sorted by median error, smallest at the top; compare each model with the naive per-drug mean.")

st.subheader("Accuracy vs number of organoid training pairs")
summary_file = models_dir() / "benchmark" / "summary.csv"
summary = pd.read_csv(summary_file, dtype={"n_finetune": str}) if summary_file.is_file() else None
if summary is not None and {"dataset", "split"} <= set(summary.columns):
    cell = summary[(summary["dataset"] == "colorectal") & (summary["split"] == "precision_oncology")]
    curve = cell[cell["n_finetune"].notna() & cell["model"].str.split("_").str[0].isin(ARCHITECTURES)].copy()
    curve["architecture"] = curve["model"].str.split("_").str[0]
    curve["pairs"] = pd.to_numeric(curve["n_finetune"].replace("all", None), errors="coerce")
    curve["pairs"] = curve["pairs"].fillna(curve["pairs"].max() * 1.5 if curve["pairs"].notna().any() else 1500)
    trained_sizes = curve.loc[curve["pairs"] > 0, "pairs"]
    # A log axis cannot show 0: the zero-shot model is drawn half a step left of the smallest training set.
    curve["pairs"] = curve["pairs"].replace(0, trained_sizes.min() / 2 if len(trained_sizes) else 1)
    curve["kind"] = curve["model"].str.split("_").str[-1].map(KIND_SHORT).fillna(curve["model"])
    scores = [m for m in ("within_drug_fold_pearson", "within_drug_pearson", "paper_precision_oncology", "mse")
              if m in curve.columns]
    metric = st.radio("Score", scores, horizontal=True,
                      format_func=METRICS.get, key="performance_size_metric")
    figure = px.line(curve.sort_values("pairs"), x="pairs", y=metric, color="kind", line_dash="architecture",
                     markers=True, log_x=True, color_discrete_map=COLOURS,
                     labels={"pairs": "organoid training pairs per fold (log; leftmost = zero-shot, rightmost = all)",
                             metric: METRICS[metric]})
    naive = cell[cell["model"] == "naive_drug_mean"][metric]
    if len(naive):
        figure.add_hline(y=float(naive.iloc[0]), line_dash="dot", annotation_text="naive per-drug mean")
    st.plotly_chart(figure, key="performance_sizes")
    st.caption("Colorectal organoids, the bundles' 5 cell cold-start folds; each size is a random subset of a "
               "fold's training pairs; leftmost point = the zero-shot model (0 pairs: pre-trained on GDSC only). "
               "One training run per point.")
    seed_file = models_dir() / "benchmark" / "seed_spread.csv"
    if seed_file.is_file():
        spread = pd.read_csv(seed_file)
        single = spread[(spread["score"] == "within_drug_pearson") & ~spread["model"].str.contains(" - ")]["sd"]
        with st.expander(f"How much one training run varies (within-drug SD over seeds: {single.min():.2f} to "
                         f"{single.max():.2f}, by model)"):
            st.dataframe(spread, hide_index=True, key="performance_seed_spread",
                         column_config={c: st.column_config.NumberColumn(format="%.3f")
                                        for c in ("mean", "sd", "min", "max")})
            st.caption("The same models retrained with other seeds on the same folds (`python -m "
                       "training_scripts.seed_noise`). A difference between two points above that is smaller than "
                       "a few of these SDs can be the seed's doing.")

    st.subheader("Benchmark across cohorts")
    dataset = st.selectbox("Dataset", sorted(summary["dataset"].unique()), key="performance_dataset")
    st.dataframe(summary[summary["dataset"] == dataset], hide_index=True, key="performance_summary")
    st.caption(f"From `{summary_file}` (`python -m training_scripts.benchmark --profile full`); the report with "
               "figures and paired tests is `REPORT.md` beside it. Models of pancreas, Beat AML and CCLE are the "
               "published predictions of Prasse et al., scored here with the naive baselines on the paper's folds.")
else:
    st.caption(f"The benchmark (`{summary_file}`, `python -m training_scripts.benchmark --profile full`) "
               "is not built yet.")
