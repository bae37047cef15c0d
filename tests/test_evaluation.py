"""Metrics, naive baselines, folds and paired statistics; hand-made tables plus the paper's real folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel

from core.data.cohort import Cohort
from core.evaluation.baselines import (
    NAIVE_BASELINES,
    cross_validate,
    naive_additive,
    naive_drug_mean,
    naive_sample_mean,
)
from core.evaluation.metrics import (
    mse,
    paper_drug_development,
    paper_precision_oncology,
    score_all,
    top_k_agreement,
    within_drug,
    within_drug_per_drug,
)
from core.evaluation.peers import naive_cv_predictions, peer_summary
from core.evaluation.splits import cell_cold_start_folds, drug_cold_start_folds, paper_folds
from core.evaluation.stats import paired_t_test, per_fold


def grid(n_samples: int, n_drugs: int, seed: int = 0) -> pd.DataFrame:
    """A complete sample x drug table with random observed values."""
    rng = np.random.default_rng(seed)
    table = pd.MultiIndex.from_product(
        [[f"s{i}" for i in range(n_samples)], [f"d{j}" for j in range(n_drugs)]], names=["sample", "drug"]
    ).to_frame(index=False)
    return table.assign(y_true=rng.normal(size=len(table)))


# --- metrics -------------------------------------------------------------------------------------------


def test_perfect_predictions_score_one_and_reversed_minus_one() -> None:
    table = grid(8, 6)
    perfect, reversed_ = table.assign(y_pred=table["y_true"]), table.assign(y_pred=-table["y_true"])
    assert paper_precision_oncology(perfect) == pytest.approx(1.0)
    assert paper_drug_development(perfect) == pytest.approx(1.0)
    assert within_drug(perfect, normalised=False) == pytest.approx(1.0)
    assert paper_precision_oncology(reversed_) == pytest.approx(-1.0)
    assert paper_drug_development(reversed_) == pytest.approx(-1.0)
    assert within_drug(reversed_, "spearman", normalised=False) == pytest.approx(-1.0)
    assert mse(perfect) == 0.0


def test_paper_precision_oncology_is_the_mean_of_per_sample_pearson() -> None:
    table = pd.DataFrame(
        {
            "sample": ["a"] * 3 + ["b"] * 3,
            "drug": ["x", "y", "z"] * 2,
            "y_true": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
            "y_pred": [1.0, 2.0, 3.0, 3.0, 1.0, 2.0],
        }
    )
    # sample a: r = 1; sample b: r([1,2,3],[3,1,2]) = -0.5
    assert paper_precision_oncology(table) == pytest.approx(0.25)


def test_paper_scores_skip_small_and_constant_groups() -> None:
    table = pd.DataFrame(
        {
            "sample": ["a"] * 3 + ["b"] * 2 + ["c"] * 3,
            "drug": ["x", "y", "z", "x", "y", "x", "y", "z"],
            "y_true": [1.0, 2.0, 3.0, 5.0, 1.0, 1.0, 2.0, 3.0],
            "y_pred": [1.0, 2.0, 3.0, 1.0, 5.0, 4.0, 4.0, 4.0],
        }
    )
    # b has 2 drugs (skipped, else -1); c has a constant prediction (skipped, not 0).
    assert paper_precision_oncology(table) == pytest.approx(1.0)
    assert np.isnan(paper_precision_oncology(table[table["sample"] == "c"]))


def test_naive_baseline_scores_exactly_zero_on_normalised_within_drug() -> None:
    table = grid(10, 4)
    baseline = np.random.default_rng(1).normal(size=len(table))
    naive = table.assign(y_pred=baseline, baseline=baseline)
    assert within_drug(naive) == 0.0
    assert within_drug(naive, "spearman") == 0.0
    per_drug = within_drug_per_drug(naive)
    assert list(per_drug.columns) == ["drug", "n", "r"] and (per_drug["r"] == 0.0).all()
    assert within_drug(naive, normalised=False) != 0.0  # the raw score sees the baseline's wobble


def test_within_drug_uses_residuals_from_the_baseline() -> None:
    table = grid(12, 3)
    baseline = np.random.default_rng(2).normal(size=len(table))
    model = table.assign(y_pred=table["y_true"], baseline=baseline)
    assert within_drug(model) == pytest.approx(1.0)
    shrunk = table.assign(y_pred=baseline + 0.5 * (table["y_true"] - baseline), baseline=baseline)
    assert within_drug(shrunk) == pytest.approx(1.0)
    assert within_drug(shrunk, normalised=False) < 1.0
    with pytest.raises(KeyError, match="baseline"):
        within_drug(table.assign(y_pred=table["y_true"]))


def test_within_drug_skips_drugs_with_too_few_samples() -> None:
    table = grid(6, 2)
    table = table[~((table["drug"] == "d1") & (table["sample"].isin(["s0", "s1"])))]
    scored = table.assign(y_pred=np.where(table["drug"] == "d0", table["y_true"], -table["y_true"]))
    per_drug = within_drug_per_drug(scored, normalised=False).set_index("drug")
    assert per_drug.loc["d0", "n"] == 6 and per_drug.loc["d1", "n"] == 4 and np.isnan(per_drug.loc["d1", "r"])
    assert within_drug(scored, normalised=False) == pytest.approx(1.0)
    assert within_drug(scored, normalised=False, min_samples=4) == pytest.approx(0.0)


def test_spearman_sees_only_the_order() -> None:
    table = grid(20, 1).assign(baseline=0.0)
    table["y_pred"] = np.exp(3 * table["y_true"])
    assert within_drug(table, "spearman") == pytest.approx(1.0)
    assert within_drug(table, "pearson") < 0.95
    with pytest.raises(ValueError, match="method"):
        within_drug(table, "kendall")


def test_top_k_perfect_and_random_expectation() -> None:
    table = grid(6, 10)
    table = table[~((table["sample"] == "s0") & (table["drug"].isin(["d0", "d1", "d2", "d3", "d4"])))]
    result = top_k_agreement(table.assign(y_pred=table["y_true"]), k=2)
    assert result.overlap == pytest.approx(2.0)
    # s0 has 5 drugs, the others 10: (2*2/5 + 5 * 2*2/10) / 6
    assert result.random == pytest.approx((4 / 5 + 5 * 4 / 10) / 6)


def test_top_k_counts_the_overlap_of_the_lowest_z_scores() -> None:
    # Latin squares: every drug holds the values 0..3 once, so z-scores order drugs as the values do.
    # The prediction swaps drugs d0 and d1.
    swapped = [1, 0, 2, 3]
    rows = [
        {"sample": f"s{i}", "drug": f"d{j}", "y_true": float((i + j) % 4), "y_pred": float((i + swapped[j]) % 4)}
        for i in range(4)
        for j in range(4)
    ]
    result = top_k_agreement(pd.DataFrame(rows), k=2)
    # lowest two observed / predicted: s0 {d0,d1}/{d0,d1}, s1 {d0,d3}/{d1,d3}, s2 {d2,d3}/{d2,d3},
    # s3 {d1,d2}/{d0,d2}: overlaps 2, 1, 2, 1
    assert result.overlap == pytest.approx(1.5)
    assert result.random == pytest.approx(2 * 2 / 4)


def test_top_k_skips_samples_with_k_or_fewer_drugs() -> None:
    table = grid(4, 3)
    assert np.isnan(top_k_agreement(table.assign(y_pred=table["y_true"]), k=3).overlap)


def test_score_all_keys_and_missing_baseline() -> None:
    table = grid(8, 8)
    scores = score_all(table.assign(y_pred=table["y_true"] + 1.0))
    assert {
        "paper_precision_oncology",
        "paper_drug_development",
        "within_drug_fold_pearson",
        "within_drug_fold_spearman",
        "within_drug_pearson",
        "within_drug_spearman",
        "within_drug_pearson_raw",
        "top5_overlap",
        "top5_random",
        "mse",
    } == set(scores)
    assert np.isnan(scores["within_drug_pearson"]) and scores["within_drug_pearson_raw"] == pytest.approx(1.0)
    assert np.isnan(scores["within_drug_fold_pearson"])  # no fold column
    with_folds = score_all(table.assign(y_pred=table["y_true"] + 1.0, fold=0))
    assert with_folds["within_drug_fold_pearson"] == pytest.approx(1.0)
    assert scores["mse"] == pytest.approx(1.0)


# --- baselines -----------------------------------------------------------------------------------------


@pytest.fixture
def train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample": ["a", "a", "b", "b", "c"],
            "drug": ["x", "y", "x", "y", "x"],
            "value": [1.0, 3.0, 2.0, 6.0, 3.0],
        }
    )


def test_group_mean_baselines_and_their_fallback(train: pd.DataFrame) -> None:
    test = pd.DataFrame({"sample": ["c", "a", "new"], "drug": ["y", "new", "x"]})
    assert naive_drug_mean(train, test) == pytest.approx([4.5, 3.0, 2.0])  # unseen drug: grand mean 3
    assert naive_sample_mean(train, test) == pytest.approx([3.0, 2.0, 3.0])  # unseen sample: grand mean 3
    assert all("naive" in name for name in NAIVE_BASELINES)


def test_additive_baseline_recovers_an_additive_matrix() -> None:
    rng = np.random.default_rng(3)
    sample_effect, drug_effect = rng.normal(size=7), rng.normal(size=5)
    full = pd.MultiIndex.from_product([range(7), range(5)], names=["sample", "drug"]).to_frame(index=False)
    full["value"] = 2.0 + sample_effect[full["sample"]] + drug_effect[full["drug"]]
    held_out = rng.random(len(full)) < 0.25
    prediction = naive_additive(full[~held_out], full[held_out])
    assert prediction == pytest.approx(full.loc[held_out, "value"].to_numpy(), abs=1e-8)


def test_additive_baseline_uses_the_available_effect_for_unseen_samples(train: pd.DataFrame) -> None:
    complete = train.iloc[:4]  # a, b x x, y: grand mean 3, drug effects x -1.5, y +1.5
    prediction = naive_additive(complete, pd.DataFrame({"sample": ["new", "a"], "drug": ["y", "new"]}))
    assert prediction == pytest.approx([4.5, 2.0])


def test_cross_validate_predicts_each_fold_from_the_other_folds(train: pd.DataFrame) -> None:
    folds = np.array([0, 1, 0, 1, 1])
    prediction = cross_validate(naive_drug_mean, train, folds)
    # fold 0 (a-x, b-x) from a-y, b-y, c-x: x mean 3; fold 1 (a-y, b-y, c-x) from a-x, b-x: x mean 1.5,
    # and drug y, unseen there, gets that fold's grand mean 1.5
    assert prediction == pytest.approx([3.0, 1.5, 3.0, 1.5, 1.5])


# --- splits --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make_folds", "group"), [(cell_cold_start_folds, "sample"), (drug_cold_start_folds, "drug")])
def test_cold_start_folds_are_grouped_balanced_and_deterministic(make_folds, group: str) -> None:
    pairs = grid(23, 17).sample(frac=0.8, random_state=0)
    folds = make_folds(pairs, n_folds=5, seed=7)
    assert pairs.assign(fold=folds).groupby(group)["fold"].nunique().max() == 1
    groups_per_fold = pairs.assign(fold=folds).groupby("fold")[group].nunique()
    assert len(groups_per_fold) == 5 and groups_per_fold.max() - groups_per_fold.min() <= 1
    assert np.array_equal(folds, make_folds(pairs, n_folds=5, seed=7))
    assert not np.array_equal(folds, make_folds(pairs, n_folds=5, seed=8))
    with pytest.raises(ValueError, match="n_folds"):
        make_folds(pairs, n_folds=1, seed=7)


def test_paper_folds_read_the_fold_column_and_refuse_cohorts_without_one() -> None:
    responses = pd.DataFrame(
        {
            "sample": ["a", "b"],
            "drug": ["x", "x"],
            "value": [1.0, 2.0],
            "metric": "auc",
            "fold_precision_oncology": [3, 1],
            "fold_drug_development": [0, 0],
        }
    )
    cohort = Cohort("toy", responses, {"x": None}, "auc", True, "hand-made")
    assert list(paper_folds(cohort, "precision_oncology")) == [3, 1]
    with pytest.raises(ValueError, match="split"):
        paper_folds(cohort, "random")
    without = Cohort("toy", responses.iloc[:, :4], {"x": None}, "auc", True, "hand-made")
    with pytest.raises(KeyError, match="no paper folds"):
        paper_folds(without, "drug_development")


# --- statistics ----------------------------------------------------------------------------------------


def test_paired_t_test_matches_scipy_and_reports_the_direction() -> None:
    a, b = [0.30, 0.25, 0.41, 0.33, 0.28], [0.20, 0.22, 0.30, 0.31, 0.18]
    result = paired_t_test(a, b)
    expected = ttest_rel(a, b)
    assert result.p_value == pytest.approx(expected.pvalue) and result.statistic == pytest.approx(expected.statistic)
    assert result.mean_difference == pytest.approx(np.mean(np.subtract(a, b))) and result.n_folds == 5
    with pytest.raises(ValueError):
        paired_t_test(a, b[:4])


def test_per_fold_scores_each_fold_separately() -> None:
    table = grid(6, 4).assign(fold=lambda t: (t["sample"].str[1:].astype(int) % 2))
    table["y_pred"] = np.where(table["fold"] == 0, table["y_true"], -table["y_true"])
    scores = per_fold(table, paper_precision_oncology)
    assert scores.to_dict() == pytest.approx({0: 1.0, 1: -1.0})


# --- the paper's real folds ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pancreas_summary() -> pd.DataFrame:
    return peer_summary(("pancreas",)).set_index(["split", "model"])


def test_naive_drug_mean_on_the_papers_pancreas_folds(pancreas_summary: pd.DataFrame) -> None:
    naive = pancreas_summary.loc[("precision_oncology", "naive_drug_mean")]
    assert naive["paper_precision_oncology"] == pytest.approx(0.92, abs=0.01)
    assert naive["within_drug_pearson_raw"] == pytest.approx(-0.45, abs=0.01)
    assert naive["within_drug_pearson"] == 0.0 and naive["within_drug_spearman"] == 0.0
    reference = pancreas_summary.loc[("drug_development", "naive_sample_mean")]
    assert reference["within_drug_pearson"] == 0.0


def test_peer_summary_has_every_model_and_the_naive_baselines(pancreas_summary: pd.DataFrame) -> None:
    for split in ["precision_oncology", "drug_development"]:
        models = set(pancreas_summary.loc[split].index)
        assert set(NAIVE_BASELINES) < models and {"rf", "tDNN_pretrain", "tDNN_scratch"} < models
        assert len(models) == 10
    assert (pancreas_summary["n_pairs"] == 1093).all()


def test_naive_predictions_never_see_their_own_fold() -> None:
    naive = naive_cv_predictions("pancreas", "precision_oncology")
    drug_mean = naive[naive["model"] == "naive_drug_mean"]
    fold0 = drug_mean[drug_mean["fold"] == 0]
    expected = drug_mean[drug_mean["fold"] != 0].groupby("drug")["y_true"].mean()
    assert fold0["y_pred"].to_numpy() == pytest.approx(fold0["drug"].map(expected).to_numpy())
