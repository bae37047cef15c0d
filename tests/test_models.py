"""Unit tests of the three architectures, their configs, the registry and the transfer step.

Inputs are random but realistically sized (500 genes, 120 descriptors, SMILES of 100 tokens from a
vocabulary of 40, padded with 0).
"""

from __future__ import annotations

import io
import json
import zipfile

import h5py
import keras
import numpy as np
import pytest
from model_inputs import random_inputs

from core.benchmark.grid import ARCHITECTURES as GRID_ARCHITECTURES
from core.data.panels import load_panel
from core.inference.drug_encoding import new_encoder
from core.models import (
    GENES,
    OUTPUT_LAYER_NAME,
    SPECS,
    ConvNNConfig,
    PaccMannConfig,
    TDNNConfig,
    build_model,
    config_class,
    copy_model,
    replace_output_layer,
)
from dashboard.bundles import ARCHITECTURES as DASHBOARD_LABELS
from training_scripts.settings import MODELS, PRETRAINING

ARCHITECTURES = list(SPECS)
Trained = tuple[keras.Model, keras.callbacks.History]
SIZES = {"n_genes": 500, "n_drug_features": 120, "smiles_length": 100, "vocabulary_size": 40}


def build(name: str, seed: int = 0) -> keras.Model:
    return build_model(name, config_class(name)(seed=seed), **SIZES)


def predict(model: keras.Model, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(inputs, training=False))


@pytest.fixture(scope="module", params=ARCHITECTURES)
def trained(request: pytest.FixtureRequest) -> Trained:
    """Each architecture fitted for a few epochs to random targets; shared by the tests that need
    trained (not freshly initialised) weights."""
    model = build(request.param)
    model.compile(keras.optimizers.Adam(3e-3), "mse")
    inputs = random_inputs(model, 64)
    targets = np.random.default_rng(1).random((64, 1)).astype("float32")
    history = model.fit(inputs, targets, batch_size=32, epochs=15, verbose=0, shuffle=False)
    return model, history


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_output_is_one_value_per_pair(name: str) -> None:
    model = build(name)
    prediction = predict(model, random_inputs(model, 7))
    assert prediction.shape == (7, 1)
    assert np.isfinite(prediction).all()
    assert model.layers[-1].name == OUTPUT_LAYER_NAME


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_seed_fixes_initial_weights(name: str) -> None:
    first, again, other = build(name, seed=3), build(name, seed=3), build(name, seed=4)
    for a, b in zip(first.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # Every randomly initialised variable (not the constant biases, BN scales, ...) must change with the seed.
    random_pairs = [(a, b) for a, b in zip(first.get_weights(), other.get_weights()) if np.ptp(a) > 0]
    assert len(random_pairs) >= 4
    assert all(not np.array_equal(a, b) for a, b in random_pairs)


def test_paccmann_attention_ignores_padding() -> None:
    """The same SMILES padded to 100 or to 160 tokens gets the same prediction: padding gets no attention."""
    short = build("paccmann")
    long = build_model("paccmann", PaccMannConfig(), **{**SIZES, "smiles_length": 160})
    inputs = random_inputs(short, 4)
    inputs["smiles_tokens"][:, 90:] = 0  # keep real tokens out of the widest kernel's reach of the end
    padded = np.zeros((4, 160), "int32")
    padded[:, :100] = inputs["smiles_tokens"]
    np.testing.assert_allclose(
        predict(short, inputs), predict(long, {**inputs, "smiles_tokens": padded}), rtol=1e-5, atol=1e-6
    )


def test_training_reduces_loss(trained: Trained) -> None:
    _, history = trained
    losses = history.history["loss"]
    assert np.mean(losses[-3:]) < 0.6 * losses[0], losses


def test_save_load_round_trip(trained: Trained, tmp_path) -> None:
    model, _ = trained
    inputs = random_inputs(model, 16, seed=5)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(predict(model, inputs), predict(loaded, inputs))


def test_copy_saves_without_optimizer_state(trained: Trained, tmp_path) -> None:
    """Keras 3 ignores ``include_optimizer`` for .keras files; an uncompiled copy is the way to drop it."""
    model, _ = trained
    path = tmp_path / "inference.keras"
    copy_model(model).save(path)
    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
        assert "optimizer" not in weights
    loaded = keras.models.load_model(path)
    assert not loaded.compiled
    inputs = random_inputs(model, 16, seed=6)
    np.testing.assert_array_equal(predict(model, inputs), predict(loaded, inputs))


def test_replace_output_layer_keeps_body_and_reinitialises_output(trained: Trained) -> None:
    pretrained, _ = trained
    before = pretrained.get_weights()
    fine_tuned = replace_output_layer(pretrained, seed=11)

    for layer in fine_tuned.layers:
        if layer.name != OUTPUT_LAYER_NAME:
            original = pretrained.get_layer(layer.name).get_weights()
            for new, old in zip(layer.get_weights(), original, strict=True):
                np.testing.assert_array_equal(new, old)
    kernel, bias = fine_tuned.get_layer(OUTPUT_LAYER_NAME).get_weights()
    fresh = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=11)(kernel.shape))
    np.testing.assert_array_equal(kernel, fresh)
    np.testing.assert_array_equal(bias, np.zeros_like(bias))
    assert not np.array_equal(kernel, pretrained.get_layer(OUTPUT_LAYER_NAME).get_weights()[0])

    # Fine-tuning the copy must leave the pre-trained model as it was. One step, run eagerly: tracing the training
    # step would cost 3-9 s of CPU per architecture for a single update.
    fine_tuned.compile(keras.optimizers.Adam(1e-2), "mse", run_eagerly=True)
    inputs = random_inputs(fine_tuned, 8)
    fine_tuned.fit(inputs, np.ones((8, 1), "float32"), epochs=1, verbose=0)
    assert not np.array_equal(fine_tuned.get_layer(OUTPUT_LAYER_NAME).get_weights()[0], kernel)  # it did train
    for after, original in zip(pretrained.get_weights(), before, strict=True):
        np.testing.assert_array_equal(after, original)
    assert len(fine_tuned.layers) == len(pretrained.layers)


@pytest.mark.parametrize(
    "config", [TDNNConfig(dropout=0.2), ConvNNConfig(pool_sizes=(2, 2, 2)), PaccMannConfig(attention_heads=4)]
)
def test_config_survives_json(config: TDNNConfig | ConvNNConfig | PaccMannConfig) -> None:
    restored = type(config).from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config


def test_config_rejects_unknown_field_and_bad_values() -> None:
    with pytest.raises(ValueError, match="no field"):
        TDNNConfig.from_dict({"gene_unit": [10]})
    with pytest.raises(ValueError, match="dropout"):
        PaccMannConfig(dropout=1.5)
    with pytest.raises(ValueError, match="one entry per conv block"):
        ConvNNConfig(conv_filters=(64, 64))


def test_registry_names_and_errors() -> None:
    assert ARCHITECTURES[:3] == ["tdnn", "convnn", "paccmann"]  # menu order of the shipped ones
    with pytest.raises(ValueError, match=r"Unknown model 'deepdr'.*convnn.*paccmann.*tdnn"):
        build_model("deepdr", n_genes=10)
    with pytest.raises(ValueError, match="needs n_drug_features"):
        build_model("tdnn", n_genes=10)
    with pytest.raises(TypeError, match="TDNNConfig"):
        build_model("tdnn", ConvNNConfig(), n_genes=10, n_drug_features=5)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_every_spec_builds_on_its_panel_with_its_drug_encoder(name: str) -> None:
    """What a new registry entry must get right: its builder path, panel name and drug input kind."""
    genes = load_panel(SPECS[name].panel)
    model = build_model(name, n_genes=len(genes), **{k: v for k, v in SIZES.items() if k != "n_genes"})
    assert set(model.input) == {GENES, new_encoder(name).input_name}
    assert model.input[GENES].shape[1] == len(genes)


def test_every_list_of_architectures_is_the_registry() -> None:
    """The dashboard's menus, the benchmark grid and the build scripts offer exactly the registry's
    architectures, in its order, so adding one to the registry is enough; the shipped ones keep the labels,
    panels and pre-training budgets their committed bundles were built with."""
    assert list(DASHBOARD_LABELS) == list(GRID_ARCHITECTURES) == list(MODELS) == list(PRETRAINING) == ARCHITECTURES
    shipped = {
        "tdnn": ("tDNN", "tdnn", None, 512, 20),
        "convnn": ("ConvNN", "tdnn", None, 512, 10),
        "paccmann": ("PaccMann", "paccmann", 60_000, 256, 10),
    }
    for name, (label, panel, max_pairs, batch_size, epochs) in shipped.items():
        budget = PRETRAINING[name]
        assert (DASHBOARD_LABELS[name], SPECS[name].panel) == (label, panel)
        assert (budget.max_pairs, budget.settings.batch_size, budget.settings.max_epochs) == (
            max_pairs,
            batch_size,
            epochs,
        )


def test_replace_output_layer_rejects_foreign_model() -> None:
    inputs = keras.Input((3,))
    foreign = keras.Model(inputs, keras.layers.Dense(1, name="prediction")(inputs))
    with pytest.raises(ValueError, match="does not end in a layer named 'response'"):
        replace_output_layer(foreign, seed=0)
