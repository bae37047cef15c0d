"""Write the benchmark's Markdown report: what ran, the headline tables, plain statements, figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.benchmark.figures import baseline_bars, error_boxes, size_curves
from core.benchmark.grid import Profile
from core.evaluation.metrics import METRICS
from core.study_design import CELL, DRUG, TARGET_COHORT

ALPHA = 0.05
HEADLINE_METRICS = [
    "paper_precision_oncology",
    "paper_drug_development",
    "within_drug_fold_pearson",
    "within_drug_pearson",
    "within_drug_spearman",
    "top5_overlap",
    "top5_random",
    "mse",
]


def markdown_table(table: pd.DataFrame, decimals: int = 3) -> str:
    """A GitHub Markdown table (no extra dependency); numbers rounded, missing values blank."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return (
                ""
                if pd.isna(value)
                else f"{value:.{decimals}g}"
                if abs(value) < 1e-3 and value != 0
                else f"{value:.{decimals}f}"
            )
        return "" if value is pd.NA or value is None else str(value)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def _headline(summary: pd.DataFrame) -> pd.DataFrame:
    """Each model at its largest training set (zero-shot and naive included), scores under their registry labels."""
    largest = summary[summary["n_finetune"].isna() | summary["n_finetune"].isin(["all", "0", "10000"])]
    table = largest[["dataset", "split", "model", "n_finetune", *HEADLINE_METRICS, "n_pairs"]]
    return table.rename(columns={key: METRICS[key].label for key in HEADLINE_METRICS})


def statements(tests: pd.DataFrame) -> list[str]:
    """Plain sentences from the paired tests: who beats whom at p < 0.05 in the metric's better direction, and
    where nobody does."""
    lines = []
    for (dataset, split, key), rows in tests.groupby(["dataset", "split", "metric"], sort=True):
        metric = METRICS[key].label
        rows = rows.assign(gain=rows["difference"] * (1 if METRICS[key].higher_is_better else -1))  # > 0: a is better
        versus_naive = rows[rows["model_b"].str.contains("naive") & ~rows["model_a"].str.contains("naive")]
        winners = versus_naive[(versus_naive["gain"] > 0) & (versus_naive["p_value"] < ALPHA)]
        naive = versus_naive["model_b"].iloc[0] if len(versus_naive) else "the naive baselines"
        if winners.empty:
            lines.append(
                f"- **{dataset}, {split}, {metric}**: no model beats the best naive baseline ({naive}) at p < {ALPHA}."
            )
        else:
            names = ", ".join(f"{r.model_a} ({r.difference:+.3f}, p = {r.p_value:.2g})" for r in winners.itertuples())
            lines.append(f"- **{dataset}, {split}, {metric}**: better than {naive}: {names}.")
        pretrained = rows[~rows["model_b"].str.contains("naive")]
        better = pretrained[(pretrained["gain"] > 0) & (pretrained["p_value"] < ALPHA)]
        worse = pretrained[(pretrained["gain"] < 0) & (pretrained["p_value"] < ALPHA)]
        if len(pretrained):
            lines.append(
                f"  Pre-trained vs scratch ({len(pretrained)} comparisons): pre-trained better in "
                f"{len(better)} ({', '.join(f'{r.model_a} n={r.n_finetune_a}' for r in better.itertuples()) or 'none'}), "
                f"worse in {len(worse)} ({', '.join(f'{r.model_a} n={r.n_finetune_a}' for r in worse.itertuples()) or 'none'})."
            )
    return lines


def _seed_noise_section(out: Path) -> list[str]:
    """The spread over seeds written by ``training_scripts.studies.seed_noise`` beside the report, if it ran."""
    path = out / "seed_spread.csv"
    if not path.is_file():
        return []
    return [
        "## Seed noise\nThe models below retrained on the same colorectal cell cold-start folds with other seeds "
        "(`python -m training_scripts.studies.seed_noise`; scores per seed in `seed_scores.csv`). A difference between "
        "two models smaller than a few SDs here can be the seed's doing.\n\n" + markdown_table(pd.read_csv(path))
    ]


def write_benchmark_report(
    results: dict[str, pd.DataFrame], predictions: pd.DataFrame, profile: Profile, run_minutes: float | None, out: Path
) -> Path:
    """Write ``REPORT.md`` and its figures into ``out``."""
    summary, tests, clinical = results["summary"], results["paired_tests"], results["clinical_check"]
    figures = []
    for dataset, split in sorted(set(zip(summary["dataset"], summary["split"]))):
        name = f"sizes_{dataset}_{split}.png"
        if size_curves(summary, dataset, split, out / name):
            figures.append((f"Score vs fine-tuning size: {dataset}, {split}", name))
    for (dataset, split), models in {
        (TARGET_COHORT, CELL): [
            "naive_drug_mean",
            "tdnn_finetuned",
            "tdnn_scratch",
            "paccmann_zeroshot",
            "rf_per_drug",
        ],
        (TARGET_COHORT, DRUG): [
            "naive_sample_mean",
            "tdnn_finetuned",
            "tdnn_scratch",
            "tdnn_zeroshot",
            "rf_drug_features",
        ],
    }.items():
        name = f"errors_{dataset}_{split}.png"
        if error_boxes(predictions, dataset, split, models, out / name):
            figures.append((f"Absolute error per drug: {dataset}, {split}", name))
    baseline_bars(summary, out / "baselines.png")
    figures.append(("Every model against the naive baselines (largest training set)", "baselines.png"))

    grid = "\n".join(f"- {dataset}, {split}: {n} folds" for (dataset, split), n in profile.folds.items())
    gdsc = "; ".join(f"{split}: {', '.join(models)}" for split, models in profile.gdsc_models.items())
    parts = [
        "# Benchmark report",
        f"Generated by `python -m training_scripts.studies.benchmark --profile {profile.name}` from `predictions.parquet` "
        "(every held-out prediction). All values are on each dataset's min-max scaled response. "
        + (
            f"Wall time of the grid runs that finished (`run_times.jsonl`; an interrupted run is not recorded, "
            f"its finished tasks are kept and skipped on resume): {run_minutes:.1f} min."
            if run_minutes
            else ""
        ),
        "## Grid\n" + grid + "\n"
        f"- Cell cold-start architectures: {', '.join(profile.cell_architectures)}; sizes 0 (zero-shot), {', '.join(profile.cell_sizes)}\n"
        f"- Drug cold-start architectures: {', '.join(profile.drug_architectures)}; sizes 0, {', '.join(profile.drug_sizes)}; "
        f"each fold pre-trained afresh on GDSC without its test drugs (same SMILES or GDSC name), "
        f"{profile.drug_pretraining_pairs:,} pairs, {profile.drug_pretraining_epochs} epochs\n"
        f"- GDSC: {gdsc or 'not in this profile'} ({profile.gdsc_max_pairs:,} training pairs, {profile.gdsc_epochs} epochs)\n"
        "- Published predictions of Prasse et al. (pancreas, Beat AML, CCLE) on the paper's own folds, with the naive "
        "baselines refitted on those folds.",
        "## What the paired tests say\nTwo-sided paired t-tests over folds (over drugs for the within-drug score where "
        "folds hold too few samples); folds share training data, so p-values are optimistic.\n\n"
        + "\n".join(statements(tests)),
        "## Headline scores\n" + markdown_table(_headline(summary)),
        "## Paired tests\n" + markdown_table(tests.drop(columns=["t"])),
        "## Clinical check: first-line drugs in the top k\n"
        + (markdown_table(clinical) if len(clinical) else "No cohort with known first-line drugs."),
        *_seed_noise_section(out),
        "## Figures\n" + "\n\n".join(f"### {title}\n![{title}]({name})" for title, name in figures),
    ]
    path = out / "REPORT.md"
    path.write_text("\n\n".join(parts) + "\n")
    return path
