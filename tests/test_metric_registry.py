"""The metric registry (issue 14): every metric computes, its direction is right, and what pages and reports show
for a metric is the registry's label, so a new metric is its function plus one entry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.benchmark.markdown import HEADLINE_METRICS, _headline, markdown_table
from core.evaluation.metrics import METRICS, score_all
from core.evaluation.performance import DETAIL_SCORES, readable_summary

SAMPLES, DRUGS, FOLDS = 12, 8, 3


def _predictions() -> pd.DataFrame:
    """A cohort with drug, sample and pair effects, samples dealt to folds, and each pair's fold-wise per-drug
    training mean as ``baseline``: every column any metric needs."""
    rng = np.random.default_rng(0)
    drug_effect, sample_effect = rng.normal(0, 1, DRUGS), rng.normal(0, 0.5, SAMPLES)
    table = pd.DataFrame(
        [
            {
                "sample": f"s{s}",
                "drug": f"d{d}",
                "fold": s % FOLDS,
                "y_true": drug_effect[d] + sample_effect[s] + rng.normal(0, 0.3),
            }
            for s in range(SAMPLES)
            for d in range(DRUGS)
        ]
    )
    training_mean = {
        (fold, drug): table.loc[(table["fold"] != fold) & (table["drug"] == drug), "y_true"].mean()
        for fold in range(FOLDS)
        for drug in table["drug"].unique()
    }
    return table.assign(baseline=[training_mean[f, d] for f, d in zip(table["fold"], table["drug"])])


def test_every_metric_computes_and_a_perfect_prediction_beats_a_shuffled_one_in_its_direction() -> None:
    table = _predictions()
    perfect = score_all(table.assign(y_pred=table["y_true"]))
    shuffled = score_all(table.assign(y_pred=np.random.default_rng(1).permutation(table["y_true"].to_numpy())))
    assert set(perfect) == set(METRICS)
    for key, metric in METRICS.items():
        assert np.isfinite(perfect[key]) and np.isfinite(shuffled[key]), key
        if metric.higher_is_better is None:  # a reference level, the same whatever is predicted
            assert perfect[key] == pytest.approx(shuffled[key]), key
        else:
            assert (perfect[key] > shuffled[key]) == metric.higher_is_better, key
            assert perfect[key] != pytest.approx(shuffled[key]), key


def test_missing_columns_leave_only_the_metrics_that_need_them_blank() -> None:
    table = _predictions().drop(columns=["fold", "baseline"])
    scores = score_all(table.assign(y_pred=table["y_true"]))
    assert {key for key, value in scores.items() if np.isnan(value)} == {k for k, m in METRICS.items() if m.needs}


def test_performance_page_and_benchmark_report_show_the_registry_labels() -> None:
    scores = {key: 0.5 for key in METRICS}
    summary = pd.DataFrame(
        [
            {
                "dataset": "colorectal",
                "split": "precision_oncology",
                "model": "naive_drug_mean",
                "n_finetune": None,
                "n_pairs": 10,
                **scores,
            }
        ]
    )
    labels = [metric.label for metric in METRICS.values()]
    assert len(set(labels)) == len(labels), labels  # pages rename score columns to labels: one label, one column
    shown = readable_summary(summary).columns
    assert [c for c in shown if c not in ("predicting", "model", "training pairs", "pairs scored")] == [
        METRICS[key].label for key in DETAIL_SCORES
    ]
    header = markdown_table(_headline(summary)).splitlines()[0]
    assert (
        header
        == "| "
        + " | ".join(
            ["dataset", "split", "model", "n_finetune", *(METRICS[key].label for key in HEADLINE_METRICS), "n_pairs"]
        )
        + " |"
    )
