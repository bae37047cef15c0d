"""Do the attributions find known biomarkers? tDNN pre-trained on GDSC1 without the lines of fold 0 of the
GDSC cell cold-start (cached; about 15 minutes per target on 2 cores when absent), explained on a sample of
those held-out lines for the drugs of ``core/explain/known_biomarkers.csv``; each marker's rank among the
panel genes per attribution view, against a random-gene null, beside the rank of the marker in the data
itself (|Spearman| of expression with AUC over the lines: can the marker be seen at all?).

Writes ``trained_models/benchmark/biomarkers.csv`` (one row per target, view and marker) and
``biomarkers_summary.csv`` (median percentile, share in the top 5 %, random-gene null and its p per target
and view) and prints both. Run: ``python -m training_scripts.studies.biomarker_check``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from core.benchmark.tasks import cohort
from core.config import models_dir
from core.data.panels import load_panel
from core.explain.biomarkers import biomarker_ranks, load_biomarkers, random_gene_null, summarise
from core.explain.bundle_attributions import DEFAULT_VIEW, contrast_over_drugs, mean_importance
from core.explain.integrated_gradients import DEFAULT_STEPS, expected_gradients, integrated_gradients, pair_grid
from core.explain.precomputed import relative_importance
from core.study_design import PRETRAINING_COHORT
from core.transfer.deep_study import held_out_lines, pretrained_model

HELD_OUT = "cell_fold0"
OUTPUT, SUMMARY = "biomarkers.csv", "biomarkers_summary.csv"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", nargs="+", default=["minmax", "drug_centred"])
    parser.add_argument("--lines", type=int, default=60, help="held-out lines explained (sampled, seeded)")
    parser.add_argument("--references", type=int, default=20, help="training lines as expected-gradient baselines")
    parser.add_argument(
        "--contrast-drugs",
        type=int,
        default=40,
        help="other drugs (sampled) besides the marker drugs, for the drug view's mean over drugs",
    )
    parser.add_argument("--steps", type=int, default=16, help="steps per reference of the expected gradients")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def data_importance(
    markers: pd.DataFrame, expression: pd.DataFrame, responses: pd.DataFrame, lines: list[str]
) -> pd.DataFrame:
    """Marker drugs x panel genes |Spearman| of expression with the drug's AUC on ``lines``: what the data show."""
    drugs = markers["drug"].unique()
    auc = responses[responses["sample"].isin(lines) & responses["drug"].isin(drugs)].pivot_table(
        index="sample", columns="drug", values="value"
    )
    ranked_expression = expression.loc[auc.index].rank()
    importance = pd.DataFrame({drug: ranked_expression.corrwith(auc[drug].rank()).abs() for drug in auc.columns}).T
    return importance.fillna(0.0)


def view_importance(model_target: str, args: argparse.Namespace, markers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """View -> drugs x genes importance (mean |attribution| over the sampled held-out lines)."""
    trained = pretrained_model(model_target, HELD_OUT)
    gdsc = cohort(PRETRAINING_COHORT)
    rng = np.random.default_rng(args.seed)
    held_out = sorted(held_out_lines(HELD_OUT) & set(gdsc.expression.index))
    training = sorted(set(gdsc.expression.index) - set(held_out))
    lines = list(rng.choice(held_out, size=min(args.lines, len(held_out)), replace=False))
    references = list(rng.choice(training, size=args.references, replace=False))
    marker_drugs = [d for d in markers["drug"].unique() if gdsc.drug_smiles.get(d)]
    others = sorted(
        d
        for d, smiles in gdsc.drug_smiles.items()
        if smiles and d not in marker_drugs and d in set(gdsc.responses["drug"])
    )
    drugs = marker_drugs + list(rng.choice(others, size=min(args.contrast_drugs, len(others)), replace=False))
    genes = trained.expression.transform(gdsc.expression.loc[lines], trained.domain)
    baselines = trained.expression.transform(gdsc.expression.loc[references], trained.domain)
    drug_rows = {trained.drugs.input_name: trained.drugs.transform([gdsc.drug_smiles[d] for d in drugs])}
    n_markers = len(marker_drugs)
    absolute = integrated_gradients(
        trained.model, pair_grid(genes, {k: v[:n_markers] for k, v in drug_rows.items()}), steps=DEFAULT_STEPS
    ).reshape(len(lines), n_markers, -1)
    patient = expected_gradients(trained.model, pair_grid(genes, drug_rows), baselines, steps=args.steps).reshape(
        len(lines), len(drugs), -1
    )
    views = {
        "absolute": absolute,
        "patient": patient[:, :n_markers],
        "drug": contrast_over_drugs(patient)[:, :n_markers],
    }
    panel = trained.expression.genes
    return {view: mean_importance(values, marker_drugs, panel) for view, values in views.items()}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    markers = load_biomarkers()
    gdsc = cohort(PRETRAINING_COHORT)
    panel = load_panel("tdnn")
    missing = markers[~markers["gene"].isin(panel) | ~markers["drug"].map(lambda d: bool(gdsc.drug_smiles.get(d)))]
    if len(missing):
        print(f"left out (gene not in panel or drug without structure): {missing[['drug', 'gene']].values.tolist()}")
    held_out = sorted(held_out_lines(HELD_OUT) & set(gdsc.expression.index))
    rows, summaries = [], []

    def record(target: str, view: str, importance: pd.DataFrame) -> None:
        ranked = biomarker_ranks(importance, markers)
        rows.append(ranked.assign(target=target, view=view))
        summaries.append(
            {"target": target, "view": view, **summarise(ranked, random_gene_null(importance, markers, seed=args.seed))}
        )

    record(
        "data",
        "|Spearman| on held-out lines",
        data_importance(markers, gdsc.expression[panel], gdsc.responses, held_out),
    )
    for target in args.targets:
        start = time.perf_counter()
        for view, importance in view_importance(target, args, markers).items():
            record(target, view, importance)
            if view == DEFAULT_VIEW:  # the scores of the app's ranked enrichment, relative to the marker drugs
                record(target, f"{view}, relative importance", relative_importance(importance))
        print(f"{target}: explained in {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.concat(rows, ignore_index=True)
    table.drop(columns=["evidence", "source"]).to_csv(
        models_dir() / "benchmark" / OUTPUT, index=False, float_format="%.4f"
    )
    summary = pd.DataFrame(summaries)
    summary.to_csv(models_dir() / "benchmark" / SUMMARY, index=False, float_format="%.4f")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        table.pivot_table(index=["drug", "gene"], columns=["target", "view"], values="percentile").round(3).to_string()
    )


if __name__ == "__main__":
    main()
