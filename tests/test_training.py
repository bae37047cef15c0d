"""Training protocols, bundles and prediction on a real-data subset with tiny model configurations.

The subset keeps 8 drugs screened in both GDSC1 and the colorectal organoids, so descriptors for only
a few molecules are computed (Mordred is the slow part) and each test trains in seconds.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from core.data.cohort import Cohort
from core.data.panels import load_panel
from core.inference.bundle import BundleError, load_bundle, save_bundle
from core.inference.model import build_pair_table, predict
from core.inference.pairs import PairTable
from core.models import OUTPUT_LAYER_NAME, SPECS, build_model
from core.models.config import ConvNNConfig, PaccMannConfig, TDNNConfig
from core.models.transfer import replace_output_layer
from core.training.bundles import build_bundle
from core.training.compiled import compiled_twin
from core.training.fit import TrainingSettings, fit
from core.training.ordering import DrugGroupedBatches, grouped_ordering
from core.training.protocols import finetune, pretrain, train_from_scratch, training_pairs
from core.usecases.predict import member_predictions, rank_drugs

TINY = {
    "tdnn": TDNNConfig(gene_units=(32, 16, 8), drug_units=(32, 16, 8), head_units=(8, 8, 4)),
    "convnn": ConvNNConfig(embedding_dim=8, conv_filters=(8, 8, 8), dense_units=(16, 8, 4)),
    "paccmann": PaccMannConfig(
        conv_filters=(8, 8, 8), attention_size=8, gene_encoding_units=16, dense_units=(16, 8, 4, 4)
    ),
}
QUICK = TrainingSettings(batch_size=64, max_epochs=3, patience=2)


def _restrict(cohort: Cohort, drugs: set[str]) -> Cohort:
    return dataclasses.replace(
        cohort,
        responses=cohort.responses[cohort.responses["drug"].isin(drugs)].reset_index(drop=True),
        drug_smiles={d: s for d, s in cohort.drug_smiles.items() if d in drugs},
    )


@pytest.fixture(scope="module")
def small(gdsc1, colorectal) -> tuple[Cohort, Cohort]:
    shared = sorted(
        d for d, g in colorectal.drug_gdsc_names.items() if g in gdsc1.drug_smiles and colorectal.drug_smiles.get(d)
    )[:8]
    gdsc_names = {colorectal.drug_gdsc_names[d] for d in shared}
    return _restrict(gdsc1, gdsc_names), _restrict(colorectal, set(shared))


@pytest.fixture(scope="module")
def pretrained_tdnn(small):
    gdsc, _ = small
    return pretrain("tdnn", gdsc, load_panel("tdnn"), QUICK, TINY["tdnn"], max_pairs=2000, progress=None)


@pytest.mark.slow
@pytest.mark.parametrize("architecture", list(SPECS))
def test_each_architecture_pretrains_finetunes_and_trains_from_scratch(small, architecture: str) -> None:
    gdsc, crc = small
    genes = load_panel(SPECS[architecture].panel)
    pre = pretrain(architecture, gdsc, genes, QUICK, TINY[architecture], max_pairs=1500, progress=None)
    assert 1 <= pre.fit_result.epochs_run <= QUICK.max_epochs and np.isfinite(pre.fit_result.best_val_loss)
    pairs = training_pairs(crc)
    for trained in (
        finetune(pre, gdsc, crc, pairs, QUICK, progress=None),
        train_from_scratch(architecture, genes, gdsc, crc, pairs, QUICK, TINY[architecture], progress=None),
    ):
        predictions = trained.predict_pairs(crc.expression, pairs, crc.drug_smiles)
        assert predictions.shape == (len(pairs),) and np.isfinite(predictions).all()
        # The target scaler is the organoids' own (fitted on the training AUCs), not GDSC's.
        assert (trained.target.minimum, trained.target.maximum) == (pairs["value"].min(), pairs["value"].max())
        assert predictions.std() > 0


@pytest.mark.slow
def test_finetuning_starts_from_the_pretrained_weights(small, pretrained_tdnn) -> None:
    gdsc, crc = small
    frozen = dataclasses.replace(QUICK, learning_rate=0.0, max_epochs=1)
    tuned = finetune(pretrained_tdnn, gdsc, crc, training_pairs(crc), frozen, progress=None)
    for layer in tuned.model.layers:
        if layer.weights and layer.name != OUTPUT_LAYER_NAME:
            for before, after in zip(pretrained_tdnn.model.get_layer(layer.name).get_weights(), layer.get_weights()):
                np.testing.assert_array_equal(before, after)
    output_before = pretrained_tdnn.model.get_layer(OUTPUT_LAYER_NAME).get_weights()[0]
    assert not np.allclose(output_before, tuned.model.get_layer(OUTPUT_LAYER_NAME).get_weights()[0])


@pytest.fixture(scope="module")
def saved_bundle(small, pretrained_tdnn, tmp_path_factory):
    gdsc, crc = small
    bundle = build_bundle(
        "finetuned",
        "tdnn",
        pretrained_tdnn.expression.genes,
        gdsc,
        crc,
        QUICK,
        n_folds=3,
        pretrained=pretrained_tdnn,
        pretraining_manifest={"note": "test"},
    )
    folder = tmp_path_factory.mktemp("bundles") / bundle.name
    save_bundle(bundle, folder)
    return bundle, folder


@pytest.mark.slow
def test_bundle_round_trips_to_identical_predictions(saved_bundle, small) -> None:
    bundle, folder = saved_bundle
    _, crc = small
    loaded = load_bundle(folder)
    profiles = crc.expression.iloc[:3]
    np.testing.assert_array_equal(rank_drugs(bundle, profiles)["predicted"], rank_drugs(loaded, profiles)["predicted"])
    assert loaded.manifest.files and loaded.benchmark["model"].str.contains("naive").any()


@pytest.mark.slow
def test_tampering_and_schema_mismatch_are_refused(saved_bundle, tmp_path) -> None:
    _, folder = saved_bundle
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(folder, copy)
    drugs = copy / "drugs.csv"
    drugs.write_text(drugs.read_text().replace(",", ";", 1))
    with pytest.raises(BundleError, match="drugs.csv was modified"):
        load_bundle(copy)
    shutil.rmtree(copy)
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(dict(manifest, schema_version=99)))
    with pytest.raises(BundleError, match="schema version 99"):
        load_bundle(copy)


@pytest.mark.slow
def test_every_reference_prediction_is_made_by_the_fold_model_that_held_its_sample_out(saved_bundle, small) -> None:
    """The reference z-scores are only honest if each reference organoid's stored prediction comes from the
    member of its own fold (trained without it), not from another member."""
    bundle, _ = saved_bundle
    _, crc = small
    folds = bundle.manifest.cross_validation.folds
    reference = bundle.reference_predictions
    assert (reference["sample"].map(folds) == reference["fold"]).all()
    drugs = bundle.drugs["drug"].tolist()
    for sample in sorted(folds)[:3]:
        stored = reference[reference["sample"] == sample].set_index("drug").loc[drugs, "y_pred"].to_numpy()
        per_member = member_predictions(bundle, crc.expression.loc[[sample]])[:, 0, :]
        np.testing.assert_allclose(per_member[folds[sample]], stored, rtol=1e-5, atol=1e-6)
        others = np.delete(per_member, folds[sample], axis=0)
        assert np.abs(others - stored).max(axis=1).min() > 1e-4  # the other members predict it differently


@pytest.mark.slow
def test_ranking_sign_convention_and_missing_genes(saved_bundle, small) -> None:
    bundle, _ = saved_bundle
    _, crc = small
    profile = crc.expression.iloc[[0]].drop(columns=bundle.genes[:20])  # an upload lacking 20 panel genes
    ranking = rank_drugs(bundle, profile)
    assert list(ranking["rank"]) == list(range(1, len(bundle.drugs) + 1))
    assert ranking["z_score"].is_monotonic_increasing  # rank 1 = most negative z = most sensitive
    assert (ranking["uncertainty"] >= 0).all() and ranking["uncertainty"].max() > 0


@pytest.mark.slow
def test_zero_shot_panel_bundle_ranks_another_cohorts_drugs(small, pretrained_tdnn) -> None:
    from core.data.registry import load_cohort
    from core.training.panel_bundle import build_panel_bundle

    gdsc, crc = small
    pancreas = load_cohort("pancreas")
    shared = {d for d, g in pancreas.drug_gdsc_names.items() if g in gdsc.drug_smiles}
    assert shared  # the small GDSC subset shares drugs with the pancreatic screen
    panel = _restrict(pancreas, shared)
    bundle = build_panel_bundle(pretrained_tdnn, gdsc, panel, crc, {"note": "test"})
    assert bundle.name == "pancreas-panel_tdnn_zeroshot" and set(bundle.drugs["drug"]) == shared
    assert len(bundle.reference_predictions) == len(crc.expression) * len(shared)
    assert bundle.reference_predictions["y_true"].isna().all() and "cannot be scored" in bundle.manifest.benchmark_note
    ranking = rank_drugs(bundle, crc.expression.iloc[[0]])
    assert sorted(ranking["drug"]) == sorted(shared)


@pytest.mark.slow
def test_a_cohort_upload_with_genes_missing_in_some_samples_only(saved_bundle, small) -> None:
    bundle, _ = saved_bundle
    _, crc = small
    profiles = crc.expression.iloc[:2].copy()
    profiles.loc[profiles.index[0], bundle.genes[:15]] = np.nan  # not measured in the first sample only
    ranking = rank_drugs(bundle, profiles)
    assert ranking["z_score"].notna().all()
    alone = rank_drugs(bundle, profiles.iloc[[1]])
    second = ranking[ranking["sample"] == profiles.index[1]]
    np.testing.assert_allclose(second["predicted"].to_numpy(), alone["predicted"].to_numpy(), rtol=1e-5)


@pytest.mark.slow
def test_fold_models_share_one_compiled_twin_reset_to_their_own_state(small, pretrained_tdnn) -> None:
    """fit() trains every fold model on one compiled twin per architecture (traced once): each fold starts
    from its own variables (weights, dropout seeds) and a fresh optimiser, and keeps what it learned."""
    gdsc, crc = small
    pairs = training_pairs(crc)
    table = build_pair_table(
        pretrained_tdnn.expression,
        pretrained_tdnn.drugs,
        pretrained_tdnn.target,
        crc.expression,
        pairs,
        crc.drug_smiles,
        pretrained_tdnn.domain,
    )
    settings = dataclasses.replace(QUICK, max_epochs=2, patience=10)
    twins = []
    for seed in (1, 2):
        fold_model = replace_output_layer(pretrained_tdnn.model, seed=seed)
        before = [v.numpy() for v in fold_model.variables]
        with compiled_twin(fold_model, settings.learning_rate) as twin:
            twins.append(twin)
            for theirs, ours in zip(twin.variables, before):
                np.testing.assert_array_equal(theirs.numpy(), ours)
            assert int(twin.optimizer.iterations.numpy()) == 0
            assert all(
                not v.numpy().any() for v in twin.optimizer.variables if v.path.endswith(("_momentum", "_velocity"))
            )
        output_before = fold_model.get_layer(OUTPUT_LAYER_NAME).kernel.numpy()
        result = fit(fold_model, table, settings, progress=None)
        assert result.epochs_run == 2 and not fold_model.compiled  # trained, yet never compiled itself
        steps = 2 * int(np.ceil(len(table) * (1 - settings.validation_fraction) / settings.batch_size))
        assert int(twin.optimizer.iterations.numpy()) == steps  # this fold's steps only: the optimiser was reset
        for trained, twin_variable in zip(fold_model.variables, twin.variables):
            np.testing.assert_array_equal(trained.numpy(), twin_variable.numpy())
        assert not np.allclose(fold_model.get_layer(OUTPUT_LAYER_NAME).kernel.numpy(), output_before)
    assert twins[0] is twins[1]  # fold models differing only in their output layer's seed share the twin


def test_models_built_alike_share_a_twin_and_others_do_not() -> None:
    """Fresh builds of one architecture (PaccMann's unnamed token-mask operation is numbered per build) share
    the compiled twin; another input length, learning rate or loss gets its own."""

    def twin_of(model, learning_rate: float = 1e-3, loss: str = "mse"):
        with compiled_twin(model, learning_rate, loss) as twin:
            return twin

    shape = {"n_genes": 40, "vocabulary_size": 30}
    first = twin_of(build_model("paccmann", TINY["paccmann"], smiles_length=50, **shape))
    assert twin_of(build_model("paccmann", TINY["paccmann"], smiles_length=50, **shape)) is first
    assert twin_of(build_model("paccmann", TINY["paccmann"], smiles_length=51, **shape)) is not first
    assert twin_of(build_model("paccmann", TINY["paccmann"], smiles_length=50, **shape), 1e-4) is not first
    ordering = twin_of(build_model("paccmann", TINY["paccmann"], smiles_length=50, **shape), loss="ordering")
    assert ordering is not first and ordering.loss is grouped_ordering


@pytest.mark.slow
def test_drug_centred_target_learns_deviations_and_survives_a_bundle_round_trip(small, tmp_path) -> None:
    """Centred per drug, the scaled target of every drug has its training mean at the same point, predictions
    add each drug's training mean back, and the bundle keeps the means."""
    gdsc, crc = small
    centred = dataclasses.replace(QUICK, target="drug_centred")
    pairs = training_pairs(crc)
    trained = train_from_scratch("tdnn", load_panel("tdnn"), gdsc, crc, pairs, centred, TINY["tdnn"], progress=None)
    smiles = pairs["drug"].map(crc.drug_smiles)
    assert trained.target.centred and set(trained.target.drug_means) == set(smiles)
    scaled = trained.target.transform(pairs["value"].to_numpy(), smiles.to_numpy())
    per_drug = pairs.assign(scaled=scaled).groupby("drug")["scaled"].mean()
    np.testing.assert_allclose(per_drug.to_numpy(), per_drug.iloc[0], atol=1e-6)  # every drug's mean maps to one value
    # A prediction is the network's deviation on the response scale plus the drug's stored training mean.
    predicted = trained.predict_pairs(crc.expression, pairs, crc.drug_smiles)
    table = build_pair_table(
        trained.expression, trained.drugs, trained.target, crc.expression, pairs, crc.drug_smiles, trained.domain
    )
    deviation = (
        predict(trained.model, table) * (trained.target.maximum - trained.target.minimum) + trained.target.minimum
    )
    np.testing.assert_allclose(predicted - deviation, smiles.map(trained.target.drug_means), atol=1e-5)
    assert trained.target.inverse_transform(np.zeros(1), np.array(["not a training drug"]))[0] == pytest.approx(
        trained.target.minimum + trained.target.overall_mean
    )  # an unseen drug gets the overall training mean
    bundle = build_bundle("scratch", "tdnn", load_panel("tdnn"), gdsc, crc, centred, 2, config=TINY["tdnn"])
    save_bundle(bundle, tmp_path / "centred")
    loaded = load_bundle(tmp_path / "centred")
    assert loaded.members[0].trained.target.drug_means == bundle.members[0].trained.target.drug_means
    sample = crc.expression.iloc[:2]
    np.testing.assert_allclose(
        rank_drugs(loaded, sample)["predicted"], rank_drugs(bundle, sample)["predicted"], rtol=1e-5
    )


def test_training_settings_refuse_an_unknown_target() -> None:
    with pytest.raises(ValueError, match="target must be one of"):
        TrainingSettings(target="ranks")


def test_training_settings_refuse_an_unknown_loss() -> None:
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainingSettings(loss="ranknet")


def test_grouped_ordering_loss_is_one_minus_the_mean_per_drug_pearson_and_blind_to_level_and_scale() -> None:
    rng = np.random.default_rng(0)
    drug = np.array([0] * 6 + [1] * 4 + [2] * 2 + [0] * 3, dtype=np.float32)  # drug 2: too few pairs to count
    target, predicted = rng.normal(size=len(drug)).astype(np.float32), rng.normal(size=len(drug)).astype(np.float32)
    y_true = np.stack([target, drug], axis=1)
    expected = 1 - np.mean([np.corrcoef(target[drug == d], predicted[drug == d])[0, 1] for d in (0, 1)])
    assert float(grouped_ordering(y_true, predicted[:, None])) == pytest.approx(expected, abs=1e-5)
    affine = target * np.array([3.0, 0.5, 9.0])[drug.astype(int)] + np.array([1.0, -2.0, 5.0])[drug.astype(int)]
    assert float(grouped_ordering(y_true, affine[:, None].astype(np.float32))) == pytest.approx(0.0, abs=1e-5)


def test_drug_grouped_batches_deal_every_pair_once_drug_by_drug_in_a_new_order_each_epoch() -> None:
    drug_index = np.repeat(np.arange(5), [7, 3, 9, 4, 6])
    table = PairTable(
        np.zeros((1, 2), np.float32),
        np.zeros((5, 2), np.float32),
        "drug",
        np.zeros(29, int),
        drug_index,
        np.arange(29, dtype=np.float32),
    )
    batches = DrugGroupedBatches(table, batch_size=8, shuffle=True, seed=1)

    def epoch() -> np.ndarray:
        return np.concatenate([batches[i][1] for i in range(len(batches))])

    first = epoch()
    assert sorted(first[:, 0]) == list(range(29)) and len(batches) == 4
    np.testing.assert_array_equal(first[:, 1], drug_index[first[:, 0].astype(int)])  # each target with its drug
    assert (np.diff(first[:, 1]) != 0).sum() == 4  # five runs, one per drug
    batches.on_epoch_end()
    assert not np.array_equal(epoch()[:, 0], first[:, 0])


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["ordering", "mse+ordering"])
def test_tdnn_trains_with_an_ordering_loss(small, loss: str) -> None:
    gdsc, crc = small
    settings = dataclasses.replace(QUICK, loss=loss, target="drug_centred")
    pairs = training_pairs(crc)
    trained = train_from_scratch("tdnn", load_panel("tdnn"), gdsc, crc, pairs, settings, TINY["tdnn"], progress=None)
    assert np.isfinite(trained.fit_result.best_val_loss) and trained.fit_result.epochs_run >= 1
    predictions = trained.predict_pairs(crc.expression, pairs, crc.drug_smiles)
    assert np.isfinite(predictions).all() and predictions.std() > 0
