"""The within-drug axis (issue 12): the fold-centred score, the permutation null, domain alignment, and the
per-drug ridge models of the transfer study; on hand-made tables where the answer is known, and on the
committed benchmark's real predictions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.config import models_dir
from core.evaluation.evidence import (
    REFERENCE_FILE,
    Evidence,
    best_architecture,
    evidence,
    evidence_row,
    stored_evidence,
)
from core.evaluation.grouped import with_baseline
from core.evaluation.metrics import within_drug, within_drug_fold, within_drug_fold_per_drug
from core.evaluation.permutation import SampleGrid, permutation_test
from core.inference.manifest import Manifest
from core.transfer.alignment import REFERENCE, TARGET, CohortStandardisation, ContrastivePCA, make_alignment
from core.transfer.linear import PerDrugRidge, tissue_residuals
from core.transfer.multitask import MultiTaskNetwork, MultiTaskSettings, masked_ordering
from core.transfer.multitask_transfer import finetuned

# A small network on ten features learns the planted orderings below in 40 epochs at a learning rate of 1e-2 (held-out
# r 0.95-0.99); at the default 1e-3 it took 100-200 epochs, 2.5-4 times the time, for r 0.78-0.95.
SMALL_NETWORK = MultiTaskSettings(hidden=(16,), dropout=0.0, input_dropout=0.0, learning_rate=1e-2, max_epochs=40)


def _table(n_samples: int = 20, n_drugs: int = 6, n_folds: int = 4, seed: int = 0) -> pd.DataFrame:
    """Every sample x drug, samples dealt into folds; y_true = drug potency + sample effect + noise."""
    rng = np.random.default_rng(seed)
    samples, drugs = [f"s{i}" for i in range(n_samples)], [f"d{j}" for j in range(n_drugs)]
    table = pd.DataFrame([(s, d) for s in samples for d in drugs], columns=["sample", "drug"])
    table["fold"] = table["sample"].map(dict(zip(samples, np.arange(n_samples) % n_folds)))
    potency, effect = dict(zip(drugs, rng.normal(0, 1, n_drugs))), rng.normal(0, 0.3, (n_samples, n_drugs))
    table["y_true"] = table["drug"].map(potency) + effect.reshape(-1) + rng.normal(0, 0.05, len(table))
    return table


def test_every_prediction_constant_within_a_test_fold_scores_exactly_zero() -> None:
    table = _table()
    rng = np.random.default_rng(1)
    per_fold_and_drug = {key: rng.normal() for key in table.groupby(["drug", "fold"]).groups}
    shifting = table.assign(y_pred=[per_fold_and_drug[key] for key in zip(table["drug"], table["fold"])])
    assert within_drug_fold(shifting) == 0.0
    assert within_drug_fold(shifting, "spearman") == 0.0
    # The same shifts pooled over folds as residuals are credited (the flaw the fold-centred score removes).
    fold_mean = table.groupby(["drug", "fold"])["y_true"].transform("mean")
    assert within_drug(shifting.assign(baseline=shifting["y_pred"] - (fold_mean - table["y_true"].mean()))) != 0.0
    assert within_drug_fold(table.assign(y_pred=table["y_true"])) == pytest.approx(1.0)
    assert within_drug_fold(table.assign(y_pred=-table["y_true"])) == pytest.approx(-1.0)


def test_fold_centred_score_of_one_drug_by_hand() -> None:
    table = pd.DataFrame(
        {
            "drug": "d",
            "sample": list("abcdef"),
            "fold": [0, 0, 0, 1, 1, 1],
            "y_true": [1.0, 2.0, 3.0, 10.0, 12.0, 11.0],
            "y_pred": [5.0, 5.5, 7.0, 0.0, 2.0, 1.5],
        }
    )
    observed = np.array([-1, 0, 1, -1, 1, 0], dtype=float)  # centred within each fold by hand
    predicted = np.array([5, 5.5, 7, 0, 2, 1.5]) - np.repeat([17.5 / 3, 3.5 / 3], 3)
    expected = np.corrcoef(observed, predicted)[0, 1]
    assert within_drug_fold_per_drug(table)["r"].iloc[0] == pytest.approx(expected)


def test_naive_per_sample_mean_scores_zero_on_the_committed_colorectal_folds() -> None:
    """Real predictions: the naive per-sample mean's 0.355 under the pooled residual score is fold noise."""
    predictions = pd.read_parquet(
        models_dir() / "benchmark" / "predictions.parquet",
        filters=[("dataset", "==", "colorectal"), ("split", "==", "precision_oncology")],
    )
    for column in ("dataset", "split", "model", "n_finetune", "sample", "drug"):
        predictions[column] = predictions[column].astype("string")
    table = with_baseline(predictions)
    naive = table[table["model"] == "naive_sample_mean"]
    assert within_drug(naive) > 0.3
    assert within_drug_fold(naive) == 0.0


def _shuffled_by_hand(table: pd.DataFrame, grid: SampleGrid, permutation: np.ndarray) -> pd.DataFrame:
    """The table with every (fold, sample)'s predictions replaced by those of the row ``permutation`` names, built
    with pandas (pairs whose new sample lacks the drug dropped), as a reader would shuffle it."""
    units = pd.MultiIndex.from_frame(table[["fold", "sample"]]).unique()
    source = dict(zip(units, units[permutation]))
    predictions = table.set_index(["fold", "sample", "drug"])["y_pred"]
    keys = [
        (*source[(fold, sample)], drug)
        for fold, sample, drug in table[["fold", "sample", "drug"]].itertuples(index=False)
    ]
    return table.assign(y_pred=predictions.reindex(pd.MultiIndex.from_tuples(keys)).to_numpy()).dropna(
        subset=["y_pred"]
    )


def test_vectorised_permutation_scores_equal_the_metric_on_tables_shuffled_by_hand() -> None:
    rng = np.random.default_rng(3)
    table = _table(n_samples=21, n_drugs=5, n_folds=3)
    table = table.assign(y_pred=table["y_true"] + rng.normal(0, 0.2, len(table)))
    table.loc[table["drug"] == "d4", "y_pred"] = 0.7  # a drug the model does not order: scores 0, not NaN
    table = table.drop(index=rng.choice(len(table), 15, replace=False))  # unscreened pairs
    grid = SampleGrid.from_table(table)

    assert grid.scores(np.arange(len(grid.fold))[None])[0] == pytest.approx(within_drug_fold(table), abs=1e-12)
    permutations = grid.permutations(6, rng)
    for fold in np.unique(grid.fold):  # each permutation moves rows only within their fold
        members = np.flatnonzero(grid.fold == fold)
        assert all(sorted(row[members]) == list(members) for row in permutations)
    assert (permutations != np.arange(len(grid.fold))).any(axis=1).all()
    expected = [within_drug_fold(_shuffled_by_hand(table, grid, row)) for row in permutations]
    np.testing.assert_allclose(grid.scores(permutations), expected, atol=1e-12)


def test_permutation_null_separates_signal_from_noise() -> None:
    table = _table(n_samples=24)
    rng = np.random.default_rng(5)
    informative = table.assign(y_pred=table["y_true"] + rng.normal(0, 0.3, len(table)))
    noise = table.assign(y_pred=rng.normal(0, 1, len(table)))
    strong, chance = (permutation_test(t, 200) for t in (informative, noise))
    assert strong.observed > 0.5 and strong.p_value < 0.01 and abs(strong.null_mean) < 0.2
    assert chance.p_value > 0.05


def test_evidence_verdicts_and_the_evidence_file_round_trip() -> None:
    table = _table(n_samples=24)
    out_of_fold = table.assign(y_pred=table["y_true"] + np.random.default_rng(0).normal(0, 0.2, len(table)))
    good = evidence(out_of_fold, 100)
    bad = evidence(out_of_fold.assign(y_pred=-out_of_fold["y_pred"]), 100)
    assert good.orders_samples and "better than chance" in good.verdict()
    assert not bad.orders_samples and "no better than each drug's average" in bad.verdict()
    manifest = Manifest(
        name="m",
        architecture="convnn",
        training="scratch",
        target_cohort="colorectal",
        response_metric="auc",
        lower_is_sensitive=True,
        data_files={},
        created="2026-01-01T00:00:00+00:00",
        genes=("TP53",),
        files={REFERENCE_FILE: "abc"},
    )
    stored = pd.DataFrame([evidence_row("m", manifest, good)])
    assert stored_evidence(stored, "m", manifest) == good
    assert stored_evidence(stored, "m", replace(manifest, files={REFERENCE_FILE: "rebuilt"})) is None
    weak = Evidence(0.1, 0.1, 0.1, 0.1, 0.3, 100)
    assert best_architecture({"a": [bad, good], "b": [weak, weak], "c": []}) == "b"


def test_contrastive_pca_removes_what_only_the_target_varies_along() -> None:
    rng = np.random.default_rng(0)
    reference, target = rng.normal(0, 1, (300, 20)), rng.normal(0, 1, (40, 20))
    direction = np.zeros(20)
    direction[3] = 1.0
    target += rng.normal(0, 5, (40, 1)) * direction  # a strong axis (e.g. culture) absent from the reference
    aligned = ContrastivePCA(n_components=1).fit(reference, target)
    assert abs(aligned.components[:, 0] @ direction) > 0.95
    assert np.std(aligned.transform(target, TARGET) @ direction) < 0.5
    assert np.std(aligned.transform(reference, REFERENCE)[:, 7]) > 0.8  # other genes keep their variation


def test_cohort_standardisation_and_unknown_alignments() -> None:
    rng = np.random.default_rng(0)
    reference, target = rng.normal(2, 3, (50, 5)), rng.normal(-1, 0.5, (10, 5))
    aligned = CohortStandardisation().fit(reference, target)
    for values, domain in ((reference, REFERENCE), (target, TARGET)):
        np.testing.assert_allclose(aligned.transform(values, domain).mean(axis=0), 0, atol=1e-9)
        np.testing.assert_allclose(aligned.transform(values, domain).std(axis=0), 1, atol=1e-3)
    with pytest.raises(ValueError, match="unknown alignment"):
        make_alignment("celligner_mnn")


def test_per_drug_ridge_recovers_a_planted_ordering_and_shrinks_to_its_prior() -> None:
    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(0, 1, (60, 8)), index=[f"s{i}" for i in range(60)])
    weights = {"d0": np.eye(8)[0], "d1": -np.eye(8)[2]}
    pairs = pd.DataFrame(
        [
            (s, d, 5.0 * (d == "d1") + features.loc[s].to_numpy() @ w + rng.normal(0, 0.1))
            for s in features.index
            for d, w in weights.items()
        ],
        columns=["sample", "drug", "value"],
    )
    model = PerDrugRidge().fit(features, pairs)
    predicted = pairs.assign(y_pred=model.predict(features, pairs))
    for drug, rows in predicted.groupby("drug"):
        assert np.corrcoef(rows["value"], rows["y_pred"])[0, 1] > 0.95
        assert rows["y_pred"].mean() == pytest.approx(rows["value"].mean())  # the drug's mean is added back
    few = pairs[pairs["sample"].isin(features.index[:6])].assign(value=lambda t: rng.normal(0, 1, len(t)))
    shrunk = PerDrugRidge(alpha=1e9).fit(features, few, prior=model)
    np.testing.assert_allclose(shrunk.drugs["d0"].coef, model.drugs["d0"].coef, atol=1e-6)
    assert np.isnan(model.predict(features, pairs.assign(drug="unknown"))).all()
    wide = pd.DataFrame(rng.normal(0, 1, (20, 50)), index=features.index[:20])  # fewer samples than features
    some = pairs[pairs["sample"].isin(wide.index)]
    primal, dual = (PerDrugRidge(alpha=3.0).fit(data, some) for data in (wide.iloc[:, :15], wide))
    exact = np.linalg.solve(
        np.cov(wide.to_numpy(), rowvar=False, bias=True) * 20 + 3.0 * np.eye(50),
        (wide - wide.mean()).T.to_numpy()
        @ (some[some["drug"] == "d0"]["value"].to_numpy() - some[some["drug"] == "d0"]["value"].mean()),
    )
    np.testing.assert_allclose(dual.drugs["d0"].coef, exact, atol=1e-8)
    assert primal.drugs["d0"].coef.shape == (15,)


def test_tissue_residuals_leave_each_tissue_at_the_drug_mean() -> None:
    pairs = pd.DataFrame({"sample": list("abcd"), "drug": "d", "value": [1.0, 2.0, 10.0, 12.0]})
    residual = tissue_residuals(pairs, pd.Series({"a": "lung", "b": "lung", "c": "skin", "d": "skin"}))
    assert residual.groupby(residual["sample"].isin(["a", "b"]))["value"].mean().tolist() == [6.25, 6.25]
    assert residual["value"].tolist() == [5.75, 6.75, 5.25, 7.25]


@pytest.mark.slow
def test_multitask_network_learns_each_drugs_ordering_and_ignores_unscreened_pairs() -> None:
    rng = np.random.default_rng(0)
    genes = pd.DataFrame(rng.normal(0, 1, (200, 10)), index=[f"s{i}" for i in range(200)])
    responses = pd.DataFrame({"d0": 0.8 + 0.1 * genes[0], "d1": 0.3 - 0.05 * genes[1], "d2": 0.5 + 0.1 * genes[2]})
    responses = responses.mask(rng.random(responses.shape) < 0.2)  # a fifth of the pairs not screened
    network = MultiTaskNetwork(SMALL_NETWORK).fit(genes.iloc[:150], responses.iloc[:150])
    predicted = network.predict(genes.iloc[150:])
    assert np.isfinite(network.validation_loss) and list(predicted.columns) == ["d0", "d1", "d2"]
    for drug in predicted:
        observed = responses[drug].iloc[150:]
        screened = observed.notna()
        assert np.corrcoef(observed[screened], predicted.loc[screened, drug])[0, 1] > 0.8
        assert predicted[drug].mean() == pytest.approx(responses[drug].iloc[:150].mean(), abs=0.05)


def test_ordering_loss_is_one_minus_the_mean_within_drug_pearson_and_blind_to_level_and_scale() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(12, 3)).astype("float32")
    truth[[0, 5], 1] = np.nan  # unscreened pairs are left out of drug 1's correlation
    predicted = rng.normal(size=(12, 3)).astype("float32")
    expected = 1 - np.mean(
        [np.corrcoef(truth[~np.isnan(truth[:, d]), d], predicted[~np.isnan(truth[:, d]), d])[0, 1] for d in range(3)]
    )
    assert float(masked_ordering(truth, predicted)) == pytest.approx(expected, abs=1e-5)
    affine = np.where(np.isnan(truth), 0.0, truth * np.array([2.0, 0.5, 7.0]) + np.array([1.0, -3.0, 100.0]))
    assert float(masked_ordering(truth, affine.astype("float32"))) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.slow
def test_multitask_network_trains_with_the_ordering_loss() -> None:
    rng = np.random.default_rng(2)
    genes = pd.DataFrame(rng.normal(0, 1, (200, 10)), index=[f"s{i}" for i in range(200)])
    responses = pd.DataFrame({"d0": 0.8 + 0.1 * genes[0], "d1": 0.3 - 0.05 * genes[1]})
    predicted = (
        MultiTaskNetwork(replace(SMALL_NETWORK, loss="ordering"))
        .fit(genes.iloc[:150], responses.iloc[:150])
        .predict(genes.iloc[150:])
    )
    for drug in predicted:
        assert np.corrcoef(responses[drug].iloc[150:], predicted[drug])[0, 1] > 0.8


@pytest.mark.slow
def test_fine_tuning_a_transferred_network_leaves_the_original_and_predicts_on_the_new_cohorts_scale() -> None:
    rng = np.random.default_rng(3)
    genes = pd.DataFrame(rng.normal(0, 1, (260, 10)), index=[f"s{i}" for i in range(260)])
    responses = pd.DataFrame({"d0": 0.8 + 0.1 * genes[0], "d1": 0.3 - 0.05 * genes[1]})
    reference = MultiTaskNetwork(SMALL_NETWORK).fit(genes.iloc[:200], responses.iloc[:200])
    target = genes.iloc[200:]  # another cohort: same ordering, another level and scale of response
    target_responses = 10 + 20 * responses.iloc[200:]
    before = reference.predict(target)

    tuned = finetuned(reference, target.iloc[:40], target_responses.iloc[:40])

    pd.testing.assert_frame_equal(reference.predict(target), before)
    predicted = tuned.predict(target.iloc[40:])
    for drug in predicted:
        assert np.corrcoef(target_responses[drug].iloc[40:], predicted[drug])[0, 1] > 0.7  # ordering kept
        assert predicted[drug].mean() == pytest.approx(target_responses[drug].iloc[:40].mean(), rel=0.05)
