"""The benchmark grid: leak-free splits, pre-training without test drugs, baselines, paired tests, the
clinical check, Ray execution with resume, and the committed results recomputed from their predictions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel

from core.benchmark import tasks
from core.benchmark.clinical import first_line_hits
from core.benchmark.collect import COLUMNS, min_max_scaled, naive_predictions, stored_predictions, write_results
from core.benchmark.grid import FULL, QUICK, Task
from core.benchmark.markdown import write_benchmark_report
from core.benchmark.runner import part_path, pending, run_grid
from core.benchmark.seeds import seed_scores, seed_spread
from core.config import models_dir
from core.evaluation.grouped import compare, summarise, with_baseline
from core.inference.bundle import unverified_manifest
from core.study_design import CELL, DRUG

COLORECTAL_FOLDS = {CELL: 5, DRUG: 10}


@pytest.mark.parametrize("split, group", [(CELL, "sample"), (DRUG, "drug")])
def test_no_sample_or_drug_is_in_two_folds(split: str, group: str) -> None:
    n_folds = COLORECTAL_FOLDS[split]
    seen = set()
    for fold in range(n_folds):
        train, test = tasks.train_test("colorectal", split, fold, n_folds)
        assert not set(train[group]) & set(test[group]), f"fold {fold} leaks a {group}"
        assert not seen & set(test[group])
        seen |= set(test[group])
        assert len(train) + len(test) == len(tasks.usable_pairs("colorectal"))
    assert seen == set(tasks.usable_pairs("colorectal")[group])


def test_cell_folds_are_the_committed_bundles_folds() -> None:
    manifest = unverified_manifest(models_dir() / "colorectal_tdnn_finetuned")
    pairs, folds = tasks.usable_pairs("colorectal"), tasks.folds("colorectal", CELL, 5)
    assert dict(zip(pairs["sample"], folds.tolist())) == manifest.cross_validation.folds


def test_drug_cold_start_pretraining_excludes_every_test_drug_structure() -> None:
    colorectal, gdsc = tasks.cohort("colorectal"), tasks.cohort("gdsc1")
    for fold in (0, 3):
        pretraining = tasks.pretraining_without_test_drugs("colorectal", "tdnn", fold, FULL)
        _, test = tasks.train_test("colorectal", DRUG, fold, 10)
        test_smiles = {colorectal.drug_smiles[d] for d in test["drug"].unique()}
        left = set(pretraining.usable_pairs()["drug"])
        assert not {gdsc.drug_smiles[d] for d in left} & test_smiles
        removed = set(gdsc.usable_pairs()["drug"]) - left
        assert removed, "the test drugs of a colorectal fold are GDSC drugs; some must have been removed"
        assert len(removed) <= test["drug"].nunique() + 2  # only the test drugs (and same-structure duplicates)


def test_grid_tasks_are_unique_and_drug_cold_start_models_wait_for_their_pretraining() -> None:
    for profile in (FULL, QUICK):
        keys = [task.key for task in profile.tasks()]
        assert len(keys) == len(set(keys))
    needs = {task.model for task in FULL.tasks() if task.needs_fold_pretraining}
    assert needs == {"tdnn_zeroshot", "tdnn_finetuned"}
    assert all(t.split == DRUG and t.dataset == "colorectal" for t in FULL.tasks() if t.needs_fold_pretraining)
    sizes = {t.n_finetune for t in FULL.tasks() if t.dataset == "colorectal" and t.split == CELL}
    assert sizes == {"0", "10", "50", "100", "500", "1000", "all"}


def test_naive_predictions_are_training_means_of_the_same_folds() -> None:
    naive = naive_predictions("colorectal", CELL, 5)
    pairs, folds = tasks.usable_pairs("colorectal"), tasks.folds("colorectal", CELL, 5)
    drug_mean = naive[naive["model"] == "naive_drug_mean"].reset_index(drop=True)
    row = drug_mean.iloc[0]
    expected = pairs[(folds != row["fold"]) & (pairs["drug"] == row["drug"])]["value"].mean()
    assert row["y_pred"] == pytest.approx(expected)
    assert set(naive["model"]) == {"naive_drug_mean", "naive_sample_mean", "naive_additive"}


def test_a_deep_task_predicts_exactly_its_test_fold(tmp_path: Path) -> None:
    task = Task("colorectal", CELL, "tdnn_zeroshot", "0", 2)
    predictions = tasks.run_task(task, FULL, tmp_path)
    _, test = tasks.train_test(task.dataset, task.split, task.fold, 5)
    assert predictions[["sample", "drug"]].equals(test[["sample", "drug"]])
    assert np.isfinite(predictions["y_pred"]).all() and predictions["y_pred"].std() > 0


def _table(model: str, fold_scores: list[list[float]], split: str = CELL) -> pd.DataFrame:
    """Hand-made predictions: 3 folds x 2 samples x 4 drugs; y_pred = y_true + the given per-fold noise."""
    rows = []
    rng = np.random.default_rng(0)
    for fold, noise in enumerate(fold_scores):
        for s in range(2):
            for d in range(4):
                y = float(rng.normal()) if model != "naive" else 0.0
                rows.append(
                    {
                        "dataset": "toy",
                        "split": split,
                        "model": model,
                        "n_finetune": "all",
                        "fold": fold,
                        "sample": f"s{fold}{s}",
                        "drug": f"d{d}",
                        "y_true": y,
                        "y_pred": y + noise[s * 4 + d],
                    }
                )
    return pd.DataFrame(rows)


def test_summary_and_paired_test_on_a_hand_made_table() -> None:
    rng = np.random.default_rng(1)
    truth = _table("model_a", [list(np.zeros(8))] * 3)
    a = truth.assign(y_pred=truth["y_true"] + rng.normal(scale=0.1, size=len(truth)))
    b = truth.assign(model="model_b", y_pred=truth["y_true"] + rng.normal(scale=1.0, size=len(truth)))
    naive = truth.assign(
        model="naive_drug_mean", n_finetune=pd.NA, y_pred=truth.groupby("drug")["y_true"].transform("mean")
    )
    table = pd.concat([a, b, naive], ignore_index=True)
    summary = summarise(table).set_index("model")
    assert summary.loc["naive_drug_mean", "within_drug_pearson"] == 0.0
    assert summary.loc["model_a", "paper_precision_oncology"] > summary.loc["model_b", "paper_precision_oncology"]
    result = compare(table, ("model_a", "all"), ("model_b", "all"), "toy", CELL, "paper_precision_oncology")
    per_fold = {
        m: [
            np.mean([np.corrcoef(g["y_true"], g["y_pred"])[0, 1] for _, g in f.groupby("sample")])
            for _, f in t.groupby("fold")
        ]
        for m, t in (("a", a), ("b", b))
    }
    expected = ttest_rel(per_fold["a"], per_fold["b"])
    assert result["unit"] == "fold" and result["n"] == 3
    assert result["p_value"] == pytest.approx(expected.pvalue) and result["t"] == pytest.approx(expected.statistic)
    # two samples per fold cannot order patients for a drug: the within-drug test falls back to drugs
    within = compare(table, ("model_a", "all"), ("model_b", "all"), "toy", CELL, "within_drug_pearson")
    assert within["unit"] == "drug" and within["n"] == 4


def test_every_pair_needs_its_reference_baseline() -> None:
    table = _table("model_a", [list(np.zeros(8))] * 3)
    with pytest.raises(ValueError, match="reference baseline"):
        with_baseline(table)


def test_clinical_check_counts_first_line_drugs_in_the_top_k() -> None:
    drugs = ["5-Fluorouracil", "Oxaliplatin", *[f"other{i}" for i in range(10)]]
    rows = [
        {"sample": f"s{s}", "drug": d, "y_true": float(i + s), "y_pred": float(len(drugs) - i) + s}
        for s in range(3)
        for i, d in enumerate(drugs)
    ]
    hits = first_line_hits(pd.DataFrame(rows), "colorectal").set_index(["ranking", "k"])
    raw = hits.loc[("raw response", 5)]
    assert raw["observed_share"] == 1.0 and raw["predicted_share"] == 0.0
    assert raw["chance_share"] == pytest.approx(5 / 12)
    assert raw["first_line_drugs"] == "5-Fluorouracil, Oxaliplatin"


@pytest.mark.slow
def test_grid_runs_on_ray_writes_every_result_and_resumes(tmp_path: Path) -> None:
    tiny = dataclasses.replace(QUICK, name="tiny", folds={("colorectal", DRUG): 2}, drug_architectures=())
    assert len(tiny.tasks()) == 4  # two classical models with drug features x two folds
    run_grid(tiny, tmp_path, num_cpus=2, log=lambda line: None)
    assert not pending(tiny.tasks(), tmp_path)
    written = pd.read_parquet(part_path(tmp_path, tiny.tasks()[0]))
    assert list(written.columns) == ["fold", "sample", "drug", "y_true", "y_pred"]
    lines: list[str] = []
    assert run_grid(tiny, tmp_path, num_cpus=2, log=lines.append) == 0.0
    assert "4 already done, 0 to run" in lines[0]


def test_written_results_have_the_promised_columns(tmp_path: Path) -> None:
    truth = _table("tdnn_finetuned", [list(np.random.default_rng(fold).normal(size=8)) for fold in range(3)])
    naive = truth.assign(
        model="naive_drug_mean", n_finetune=pd.NA, y_pred=truth.groupby("drug")["y_true"].transform("mean")
    )
    predictions = pd.concat([truth, naive], ignore_index=True)[COLUMNS]
    results = write_results(predictions, tmp_path)
    stored = pd.read_parquet(tmp_path / "predictions.parquet")
    assert list(stored.columns) == COLUMNS and len(stored) == 2 * len(truth)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {"dataset", "split", "model", "n_finetune"} < set(summary.columns)
    assert any("paper" in c for c in summary.columns) and any("within" in c for c in summary.columns)
    assert len(results["summary"]) == 2
    report = write_benchmark_report(results, predictions, QUICK, None, tmp_path).read_text()
    assert "## Headline scores" in report and "| toy | precision_oncology | tdnn_finetuned | all |" in report
    assert (tmp_path / "baselines.png").stat().st_size > 10_000 and "![" in report
    assert "## Seed noise" not in report  # until training_scripts.studies.seed_noise wrote its spread beside the report
    pd.DataFrame(
        {
            "model": ["tdnn_scratch"],
            "score": ["within_drug_pearson"],
            "mean": [0.1],
            "sd": [0.05],
            "min": [0.05],
            "max": [0.15],
            "n_seeds": [3],
        }
    ).to_csv(tmp_path / "seed_spread.csv", index=False)
    report = write_benchmark_report(results, predictions, QUICK, None, tmp_path).read_text()
    assert "## Seed noise" in report and "| tdnn_scratch | within_drug_pearson | 0.100 | 0.050 |" in report


@pytest.mark.skipif(not (models_dir() / "benchmark" / "predictions.parquet").is_file(), reason="benchmark not run")
def test_committed_summary_is_recomputed_from_the_committed_predictions() -> None:
    folder = models_dir() / "benchmark"
    predictions = stored_predictions(folder)
    colorectal = predictions[(predictions["dataset"] == "colorectal") & (predictions["split"] == CELL)]
    recomputed = summarise(colorectal).astype({"n_finetune": "string"}).fillna({"n_finetune": ""})
    recomputed = recomputed.set_index(["model", "n_finetune"])
    committed = pd.read_csv(folder / "summary.csv", dtype={"n_finetune": "string"}).fillna({"n_finetune": ""})
    committed = committed[(committed["dataset"] == "colorectal") & (committed["split"] == CELL)].set_index(
        ["model", "n_finetune"]
    )
    assert set(recomputed.index) == set(committed.index)
    # Stored values are rounded to 4 decimals; correlations of nearly constant predictions (PaccMann trained
    # on 10 pairs) move by up to 0.004 with that rounding, everything else by far less.
    for metric, tolerance in (
        ("paper_precision_oncology", 0.01),
        ("within_drug_pearson", 0.01),
        ("within_drug_fold_pearson", 0.01),
        ("mse", 1e-4),
    ):
        assert np.allclose(
            recomputed[metric], committed.loc[recomputed.index, metric], atol=tolerance, equal_nan=True
        ), metric


def test_seed_runs_are_scored_like_the_grid_and_their_spread_is_taken_over_seeds() -> None:
    """Naive predictions passed off as two models' seed runs get the committed summary's scores for those
    naive baselines (so scaling and the baseline join match the grid's); their spread over seeds is zero."""
    naive = naive_predictions("colorectal", CELL, 5)
    runs = pd.concat(
        [
            naive[naive["model"] == baseline].assign(model=name, seed=seed)
            for name, baseline in (("x_finetuned", "naive_additive"), ("x_scratch", "naive_sample_mean"))
            for seed in (0, 1)
        ],
        ignore_index=True,
    )
    scores = seed_scores(min_max_scaled(runs.drop(columns="n_finetune"))).set_index(["model", "seed"])
    committed = pd.read_csv(models_dir() / "benchmark" / "summary.csv")
    committed = committed[(committed["dataset"] == "colorectal") & (committed["split"] == CELL)].set_index("model")
    for seed in (0, 1):
        assert scores.loc[("x_finetuned", seed), "paper_precision_oncology"] == pytest.approx(
            committed.loc["naive_additive", "paper_precision_oncology"], abs=1e-3
        )
        assert scores.loc[("x_scratch", seed), "within_drug_pearson"] == pytest.approx(
            committed.loc["naive_sample_mean", "within_drug_pearson"], abs=1e-3
        )
    spread = seed_spread(scores.reset_index()).set_index(["model", "score"])
    assert spread.loc[("x_finetuned", "within_drug_pearson"), ["sd", "n_seeds"]].tolist() == [0.0, 2]
    difference = spread.loc[("x_finetuned - x_scratch", "within_drug_pearson")]
    assert difference["mean"] == pytest.approx(-committed.loc["naive_sample_mean", "within_drug_pearson"], abs=1e-3)


def test_seed_spread_of_a_hand_made_table() -> None:
    scores = pd.DataFrame(
        {
            "model": ["a_finetuned"] * 3 + ["a_scratch"] * 3,
            "seed": [0, 1, 2] * 2,
            "paper_precision_oncology": [0.5, 0.6, 0.7, 0.5, 0.5, 0.5],
            "within_drug_pearson": [0.1, 0.2, 0.3, 0.0, 0.1, 0.2],
        }
    )
    spread = seed_spread(scores).set_index(["model", "score"])
    a = spread.loc[("a_finetuned", "paper_precision_oncology")]
    assert (a["mean"], a["sd"], a["min"], a["max"]) == pytest.approx((0.6, 0.1, 0.5, 0.7))
    difference = spread.loc[("a_finetuned - a_scratch", "within_drug_pearson")]
    assert (difference["mean"], difference["sd"], difference["n_seeds"]) == pytest.approx((0.1, 0.0, 3))
