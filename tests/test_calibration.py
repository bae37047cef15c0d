"""The calibrated number and the per-drug reliability behind it, on simulated data whose truth is known: shrinkage
that pools drugs only as far as their noise says, probabilities that come true as often as they say, and the two
guards (z bounded by the reference range, no model read backwards)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluation.calibration import (
    COIN,
    calibrated_probability,
    calibration_score,
    held_out_probabilities,
    p_more_sensitive,
    reference_z_bound,
    reliability_bins,
)
from core.evaluation.reliability import cross_validated_evidence, drug_reliability, shrink_across_drugs


def _fisher(true_r: np.ndarray, se: float, rng: np.random.Generator) -> pd.DataFrame:
    z = np.arctanh(true_r) + rng.normal(0, se, len(true_r))
    return pd.DataFrame({"drug": [f"d{i}" for i in range(len(true_r))], "z": z, "se": se})


def test_drugs_that_do_not_differ_are_pooled_to_one_value() -> None:
    shrunk = shrink_across_drugs(_fisher(np.full(80, 0.2), 0.3, np.random.default_rng(0)))
    assert shrunk.between_drug_sd < 0.1
    assert shrunk.table["r"].std() < 0.05 and abs(shrunk.mean_r - 0.2) < 0.1
    assert shrunk.table["r_raw"].std() > 0.2  # the raw values scatter as their noise says


def test_drugs_that_differ_keep_their_order_and_move_towards_the_mean() -> None:
    true_r = np.linspace(-0.5, 0.8, 80)
    shrunk = shrink_across_drugs(_fisher(true_r, 0.1, np.random.default_rng(1)))
    assert shrunk.between_drug_sd > 0.3
    raw, posterior, mean = shrunk.table["z_raw"], shrunk.table["z_mean"], np.arctanh(shrunk.mean_r)
    assert np.all(np.abs(posterior - mean) <= np.abs(raw - mean) + 1e-12)
    assert np.corrcoef(posterior, true_r)[0, 1] > 0.95
    assert shrunk.table["better_than_coin"].sum() > 20 and not shrunk.table["better_than_coin"].all()


def test_a_floor_on_the_mean_s_error_widens_every_interval() -> None:
    fisher = _fisher(np.full(80, 0.1), 0.3, np.random.default_rng(2))
    independent, shared = shrink_across_drugs(fisher), shrink_across_drugs(fisher, mean_se=0.2)
    assert (shared.table["z_sd"] > independent.table["z_sd"]).all()
    assert shared.mean_se == pytest.approx(0.2)


def test_an_unscored_drug_gets_the_common_mean_with_its_full_spread() -> None:
    shrunk = shrink_across_drugs(_fisher(np.linspace(0, 0.6, 40), 0.1, np.random.default_rng(3)))
    table = shrunk.for_drugs(["d0", "never screened"]).set_index("drug")
    assert table.loc["never screened", "r"] == pytest.approx(shrunk.mean_r)
    assert table.loc["never screened", "z_sd"] == pytest.approx(np.hypot(shrunk.between_drug_sd, shrunk.mean_se))


def test_probabilities_come_true_as_often_as_they_say() -> None:
    """Observed and predicted z bivariate normal with correlation 0.5: with rho known, p is calibrated (slope
    about 1, skill above a coin), and each bin's share matches its mean p."""
    rng = np.random.default_rng(4)
    n = 6_000
    predicted = rng.normal(size=n)
    observed = 0.5 * predicted + np.sqrt(1 - 0.25) * rng.normal(size=n)
    table = pd.DataFrame(
        {
            "sample": np.arange(n) // 10,
            "drug": np.arange(n) % 10,
            "p": p_more_sensitive(predicted, np.full(n, np.arctanh(0.5)), np.zeros(n), 10.0),
            "outcome": (observed < 0).astype(int),
        }
    )
    score = calibration_score(table, n_boot=20)
    assert 0.85 < score.slope[0] < 1.15 and score.skill_vs_coin[1] > 0.05
    assert score.skill_vs_coin[1] <= score.skill_vs_coin[0] <= score.skill_vs_coin[2]
    bins = reliability_bins(table)
    assert (np.abs(bins["p_mean"] - bins["observed"]) < 0.06).all()
    assert ((bins["low"] <= bins["observed"]) & (bins["observed"] <= bins["high"])).all()


def test_z_beyond_the_reference_range_says_no_more_and_no_model_is_read_backwards() -> None:
    mean, sd = np.full(3, np.arctanh(0.4)), np.full(3, 0.1)
    beyond = p_more_sensitive(np.array([-2.0, -7.0, -40.0]), mean, sd, 2.0)
    assert beyond[0] == pytest.approx(beyond[1]) == pytest.approx(beyond[2]) and beyond[0] > 0.5
    backwards = p_more_sensitive(np.array([-2.0, 0.0, 2.0]), np.full(3, np.arctanh(-0.6)), np.zeros(3), 3.0)
    np.testing.assert_allclose(backwards, 0.5)


def test_a_drug_whose_reliability_reaches_zero_is_a_coin() -> None:
    reliability = pd.DataFrame(
        {"z_mean": [np.arctanh(0.4), np.arctanh(0.4)], "z_sd": [0.05, 0.05], "better_than_coin": [True, False]}
    )
    p = calibrated_probability(np.array([-1.5, -1.5]), reliability, np.array([3.0, 3.0]))
    assert p[0] > 0.6 and p[1] == COIN


def _out_of_fold(signal: float, seed: int, n_samples: int = 20, n_drugs: int = 20) -> pd.DataFrame:
    """Out-of-fold predictions of 4 folds whose ordering within each drug carries ``signal``."""
    rng = np.random.default_rng(seed)
    rows = []
    for drug in range(n_drugs):
        truth = rng.normal(size=n_samples)
        predicted = signal * truth + np.sqrt(1 - signal**2) * rng.normal(size=n_samples)
        rows += [
            {"sample": f"s{i}", "drug": f"d{drug}", "fold": i % 4, "y_true": truth[i], "y_pred": predicted[i]}
            for i in range(n_samples)
        ]
    return pd.DataFrame(rows)


def test_the_organoid_evidence_carries_its_permutation_error() -> None:
    evidence = cross_validated_evidence(_out_of_fold(0.0, 5), n_permutations=100)
    assert (evidence.table["se"] >= 1 / np.sqrt(evidence.table["n"] - 3) - 1e-12).all()
    assert evidence.table["se"].median() == pytest.approx(1 / np.sqrt(20 - 4 - 2), rel=0.3)
    assert 0 < evidence.mean_se < evidence.table["se"].median()


def test_held_out_probabilities_beat_a_coin_only_where_there_is_signal() -> None:
    strong = held_out_probabilities(_out_of_fold(0.7, 6), n_permutations=50)
    assert calibration_score(strong, n_boot=20).skill_vs_coin[1] > 0
    none = held_out_probabilities(_out_of_fold(0.0, 7), n_permutations=50)
    assert (none["p"] == COIN).mean() > 0.9  # no evidence: (almost) every drug a coin, never worse than one
    assert calibration_score(none, n_boot=20).skill_vs_coin[0] > -0.005


def test_the_reference_range_is_the_largest_reference_z() -> None:
    table = pd.DataFrame({"drug": ["a"] * 4, "y_pred": [1.0, 2.0, 3.0, 10.0]})
    z = (table["y_pred"] - 4.0) / table["y_pred"].std()
    assert reference_z_bound(table)["a"] == pytest.approx(z.abs().max())


def test_drug_reliability_combines_sources_before_shrinking() -> None:
    oof = _out_of_fold(0.3, 8)
    one = drug_reliability([cross_validated_evidence(oof, n_permutations=100)])
    two = drug_reliability(
        [cross_validated_evidence(oof, n_permutations=100), cross_validated_evidence(oof, "again", 100)]
    )
    assert (two.table["se_raw"] < one.table["se_raw"]).all()
