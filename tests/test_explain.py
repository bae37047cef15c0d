"""Tests of core.explain: integrated-gradient axioms on all three architectures at real sizes, gene
rankings, and offline pathway over-representation.

Models have random (untrained) weights: the axioms hold for any weights. Sizes are those of the real
models: 655 panel genes, 1,200 drug descriptors, SMILES of 150 tokens from a vocabulary of 40.
"""

from __future__ import annotations

import socket

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from model_inputs import random_inputs
from scipy.stats import false_discovery_control, fisher_exact, hypergeom

from core.explain.biomarkers import biomarker_ranks, load_biomarkers, random_gene_null, summarise
from core.explain.bundle_attributions import contrast_over_drugs
from core.explain.enrichment import COLLECTIONS, GSEA_MAX_FDR, load_collection, over_representation, ranked_enrichment
from core.explain.gene_ranking import top_genes, top_genes_per_drug
from core.explain.integrated_gradients import (
    completeness_gap,
    drug_weighted_expected_gradients,
    endpoint_difference,
    expected_gradients,
    explain_cohort,
    explain_organoid,
    explain_pair,
    integrated_gradients,
    pair_grid,
    split_model,
)
from core.explain.pairwise import pairwise_outputs
from core.explain.specificity import mean_cosine, top_k_overlap
from core.inference.model import predict
from core.models import SPECS, build_model

ARCHITECTURES = list(SPECS)
SIZES = {"n_genes": 655, "n_drug_features": 1200, "smiles_length": 150, "vocabulary_size": 40}
# Layers whose kernel rows are indexed by the gene input: zeroing row j there cuts gene j out of the model.
GENE_INPUT_LAYERS = {"tdnn": ["gene_1"], "convnn": ["gene_1"], "paccmann": ["gene_attention", "gene_encoding_1"]}
# Completeness: |sum(attr) - (F(x) - F(0))| <= max(ABSOLUTE, RELATIVE * |F(x) - F(0)|) on every pair at
# COMPLETENESS_STEPS Gauss-Legendre steps (measured: 512 steps were needed for tDNN, 256 for ConvNN).
COMPLETENESS_STEPS = 512
ABSOLUTE_TOLERANCE = 1e-3
RELATIVE_TOLERANCE = 0.01


@pytest.fixture(scope="module", params=ARCHITECTURES)
def model(request: pytest.FixtureRequest) -> keras.Model:
    return build_model(request.param, **SIZES)


def test_split_model_reproduces_the_model(model: keras.Model) -> None:
    inputs = random_inputs(model, 4)
    stem, head = split_model(model, "genes")
    constants = stem({name: array for name, array in inputs.items() if name != "genes"}, training=False)
    head_inputs = [keras.ops.convert_to_tensor(inputs["genes"]), *keras.tree.flatten(constants)]
    rebuilt = keras.ops.convert_to_numpy(head(head_inputs, training=False))
    np.testing.assert_allclose(rebuilt.ravel(), predict(model, inputs), rtol=1e-5, atol=1e-6)


def test_completeness_within_tolerance(model: keras.Model) -> None:
    inputs = random_inputs(model, 8)
    attributions = integrated_gradients(model, inputs, steps=COMPLETENESS_STEPS)
    assert attributions.shape == (8, SIZES["n_genes"])
    target = np.abs(endpoint_difference(model, inputs))
    gap = completeness_gap(model, inputs, attributions)
    assert np.all(gap <= np.maximum(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * target)), (gap, target)
    # Untrained PaccMann barely reads its genes (|F(x) - F(0)| ~ 1e-4), which the absolute tolerance alone
    # would pass; the typical relative gap must be small too.
    assert np.median(gap / target) < RELATIVE_TOLERANCE


def test_completeness_gap_shrinks_with_more_steps(model: keras.Model) -> None:
    inputs = random_inputs(model, 8, seed=1)
    coarse = completeness_gap(model, inputs, integrated_gradients(model, inputs, steps=8))
    fine = completeness_gap(model, inputs, integrated_gradients(model, inputs, steps=256))
    assert fine.mean() < coarse.mean()


@pytest.mark.slow
def test_completeness_with_a_nonzero_baseline_on_drug_features() -> None:
    model = build_model("tdnn", **SIZES)
    inputs = random_inputs(model, 6)
    baseline = np.random.default_rng(2).normal(size=SIZES["n_drug_features"]).astype("float32")
    # A random baseline doubles the path length in 1,200 dimensions, so the path crosses more ReLU kinks:
    # measured, 1,024 steps put 99 % and 2,048 steps all of 80 pairs within tolerance.
    attributions = integrated_gradients(model, inputs, "drug_features", baseline, steps=2048)
    target = np.abs(endpoint_difference(model, inputs, "drug_features", baseline))
    gap = completeness_gap(model, inputs, attributions, "drug_features", baseline)
    assert np.all(gap <= np.maximum(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * target)), (gap, target)


def test_gene_at_the_baseline_gets_exactly_zero(model: keras.Model) -> None:
    inputs = random_inputs(model, 4)
    baseline = np.random.default_rng(3).normal(size=SIZES["n_genes"]).astype("float32")
    inputs["genes"][:, 7] = 0.0  # equals the default all-zeros baseline
    inputs["genes"][:, 11] = baseline[11]  # equals the explicit baseline
    assert np.all(integrated_gradients(model, inputs, steps=16)[:, 7] == 0.0)
    assert np.all(integrated_gradients(model, inputs, baseline=baseline, steps=16)[:, 11] == 0.0)


def test_gene_the_network_ignores_gets_exactly_zero(model: keras.Model) -> None:
    ignored = 42
    silenced = build_model(model.name, **SIZES)  # a separate copy: the fixture model stays intact
    for layer_name in GENE_INPUT_LAYERS[model.name]:
        layer = silenced.get_layer(layer_name)
        kernel = keras.ops.convert_to_numpy(layer.kernel).copy()
        kernel[ignored] = 0.0
        layer.kernel.assign(kernel)
    inputs = random_inputs(silenced, 4)
    shifted = {**inputs, "genes": inputs["genes"].copy()}
    shifted["genes"][:, ignored] += 5.0
    np.testing.assert_array_equal(predict(silenced, inputs), predict(silenced, shifted))  # provably ignored
    attributions = integrated_gradients(silenced, inputs, steps=16)
    assert np.all(attributions[:, ignored] == 0.0)
    assert np.count_nonzero(attributions) > 0.9 * attributions.size


def test_expected_gradients_add_up_to_the_deviation_from_the_references(model: keras.Model) -> None:
    inputs = random_inputs(model, 3, seed=6)
    references = np.random.default_rng(7).normal(size=(5, SIZES["n_genes"])).astype("float32")
    attributions = expected_gradients(model, inputs, references, steps=256)
    assert attributions.shape == (3, SIZES["n_genes"])
    # The target, from plain predictions: each sample's F(x) minus the mean of F(r) over references, drug held.
    with_references = [predict(model, {**inputs, "genes": np.repeat(r[None], 3, axis=0)}) for r in references]
    target = predict(model, inputs) - np.mean(with_references, axis=0)
    gap = np.abs(attributions.sum(axis=1) - target)
    assert np.all(gap <= np.maximum(ABSOLUTE_TOLERANCE, 2 * RELATIVE_TOLERANCE * np.abs(target))), (gap, target)


def test_expected_gradients_with_one_reference_are_integrated_gradients_from_it() -> None:
    model = build_model("tdnn", n_genes=30, n_drug_features=12)
    inputs = random_inputs(model, 4, seed=8)
    reference = np.random.default_rng(9).normal(size=(1, 30)).astype("float32")
    np.testing.assert_allclose(
        expected_gradients(model, inputs, reference, steps=32),
        integrated_gradients(model, inputs, baseline=reference[0], steps=32),
        rtol=1e-5,
        atol=1e-7,
    )
    # A sample that is itself the only reference deviates from nothing.
    itself = {**inputs, "genes": np.repeat(reference, 4, axis=0)}
    assert np.all(expected_gradients(model, itself, reference, steps=8) == 0.0)


def test_drug_weighted_expected_gradients_are_the_weighted_sum_over_drugs(model: keras.Model) -> None:
    drugs = {name: array for name, array in random_inputs(model, 6, seed=14).items() if name != "genes"}
    rng = np.random.default_rng(15)
    sample = rng.normal(size=SIZES["n_genes"]).astype("float32")
    references = rng.normal(size=(3, SIZES["n_genes"])).astype("float32")
    every_drug = expected_gradients(model, pair_grid(sample[None], drugs), references, steps=16)
    mean = drug_weighted_expected_gradients(
        model, sample, drugs, references, np.full(6, 1 / 6), steps=16, pairs_per_pass=8
    )
    np.testing.assert_allclose(mean, every_drug.mean(axis=0), rtol=1e-4, atol=1e-7)
    # The drug view of drug 2 in one pass: its own attributions minus the mean over drugs.
    contrast = np.full(6, -1 / 6)
    contrast[2] += 1
    one_pass = drug_weighted_expected_gradients(model, sample, drugs, references, contrast, steps=16)
    np.testing.assert_allclose(one_pass, every_drug[2] - every_drug.mean(axis=0), rtol=1e-4, atol=1e-7)


def test_pairwise_outputs_are_the_model_on_every_pair(model: keras.Model) -> None:
    inputs = random_inputs(model, 7, seed=21)
    drugs = {name: array for name, array in inputs.items() if name != "genes"}
    rows = inputs["genes"][:5]
    pairwise = pairwise_outputs(model, "genes", tf.constant(rows), {k: tf.constant(v) for k, v in drugs.items()})
    np.testing.assert_allclose(
        pairwise.numpy(), predict(model, pair_grid(rows, drugs)).reshape(5, 7), rtol=1e-5, atol=1e-6
    )


def _additive_model(n_genes: int, n_drug_features: int) -> keras.Model:
    """Prediction = f(genes) + g(drug): no gene acts differently on different drugs."""
    genes = keras.Input((n_genes,), name="genes")
    drug = keras.Input((n_drug_features,), name="drug_features")
    from_genes = keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(genes))
    from_drug = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(drug))
    return keras.Model({"genes": genes, "drug_features": drug}, keras.layers.Add()([from_genes, from_drug]))


def test_drug_view_is_zero_when_no_gene_interacts_with_the_drug() -> None:
    additive = _additive_model(30, 12)
    rng = np.random.default_rng(10)
    organoid, references = rng.normal(size=(1, 30)), rng.normal(size=(6, 30))
    drugs = {"drug_features": rng.normal(size=(5, 12)).astype("float32")}
    patient = expected_gradients(additive, pair_grid(organoid, drugs), references, steps=32).reshape(1, 5, 30)
    assert np.abs(patient).max() > 1e-3  # the organoid does differ from the references
    np.testing.assert_allclose(contrast_over_drugs(patient), 0.0, atol=1e-6)
    assert mean_cosine(patient) == pytest.approx(1.0)


def test_specificity_measures_on_known_cases() -> None:
    rng = np.random.default_rng(11)
    same = np.tile(rng.random(100), (4, 1))
    assert top_k_overlap(same, k=10) == 1.0
    disjoint = np.zeros((2, 100))
    disjoint[0, :10], disjoint[1, 10:20] = 1.0, 1.0
    assert top_k_overlap(disjoint, k=10) == 0.0
    orthogonal = np.zeros((1, 2, 4))
    orthogonal[0, 0, 0], orthogonal[0, 1, 1] = 1.0, -3.0
    assert mean_cosine(orthogonal) == 0.0
    assert mean_cosine(-np.concatenate([orthogonal[:, :1], -orthogonal[:, :1]], axis=1)) == -1.0


def test_biomarker_ranks_and_random_gene_null() -> None:
    genes = [f"G{i}" for i in range(200)]
    importance = pd.DataFrame(np.random.default_rng(12).random((3, 200)), index=["a", "b", "c"], columns=genes)
    importance.loc["a", "G5"] = importance.loc["b", "G7"] = 2.0  # the markers come first
    markers = pd.DataFrame({"drug": ["a", "b", "c", "unknown"], "gene": ["G5", "G7", "G9", "G1"]})
    ranked = biomarker_ranks(importance, markers)
    assert ranked["drug"].tolist() == ["a", "b", "c"]  # a drug the model lacks is dropped
    assert ranked["rank"].tolist()[:2] == [1.0, 1.0]
    null = random_gene_null(importance, markers, draws=2000)
    assert abs(np.median(null) - 0.5) < 0.05
    found = summarise(ranked, null)
    assert found["median_percentile"] == 1 / 200 and found["p_value"] < 0.01


def test_known_biomarkers_are_panel_genes_with_sources() -> None:
    from core.data.panels import load_panel

    markers = load_biomarkers()
    assert not markers.duplicated(["drug", "gene"]).any()
    assert set(markers["gene"]) <= set(load_panel("tdnn"))
    assert set(markers["high_expression_means"]) <= {"sensitivity", "resistance"}
    assert markers["source"].str.contains(r"\d{4}").all()


def test_token_ids_cannot_be_explained() -> None:
    model = build_model("convnn", **SIZES)
    with pytest.raises(TypeError, match="discrete"):
        integrated_gradients(model, random_inputs(model, 2), input_name="smiles_tokens")


def test_organoid_and_pair_helpers_agree_with_the_batched_call() -> None:
    model = build_model("tdnn", n_genes=30, n_drug_features=12)
    rng = np.random.default_rng(4)
    expression = rng.normal(size=(3, 30)).astype("float32")
    drugs = {"drug_features": rng.normal(size=(5, 12)).astype("float32")}
    grid = pair_grid(expression, drugs)
    np.testing.assert_array_equal(grid["genes"][5 * 2 + 3], expression[2])
    np.testing.assert_array_equal(grid["drug_features"][5 * 2 + 3], drugs["drug_features"][3])
    cohort = explain_cohort(model, expression, drugs, steps=32, batch_size=64)
    assert cohort.shape == (3, 5, 30)
    direct = integrated_gradients(model, grid, steps=32, batch_size=10_000).reshape(3, 5, 30)
    np.testing.assert_allclose(cohort, direct, rtol=1e-4, atol=1e-6)
    organoid = explain_organoid(model, expression[1], drugs, steps=32)
    np.testing.assert_allclose(organoid, cohort[1], rtol=1e-4, atol=1e-6)
    pair = explain_pair(model, expression[1], {"drug_features": drugs["drug_features"][4]}, steps=32)
    np.testing.assert_allclose(pair, cohort[1, 4], rtol=1e-4, atol=1e-6)


def test_ranking_uses_absolute_importance_and_reports_direction() -> None:
    genes = ["A", "B", "C", "D"]
    # A cancels across organoids but moved both; B pushes towards resistance, C towards sensitivity.
    attributions = np.array([[3.0, 1.0, -0.5, 0.0], [-3.0, 1.0, -0.5, 0.0]])
    table = top_genes(attributions, genes, k=3)
    assert table.columns.tolist() == ["gene", "importance", "signed", "direction"]
    assert table["gene"].tolist() == ["A", "B", "C"]
    assert table["importance"].tolist() == [6.0, 2.0, 1.0]
    assert table["signed"].tolist() == [0.0, 2.0, -1.0]
    assert table["direction"].tolist() == ["none", "resistance", "sensitivity"]
    single = top_genes(attributions[0], genes, k=None)
    assert single["gene"].tolist() == ["A", "B", "C", "D"] and single["direction"].iloc[0] == "resistance"


def test_ranking_ties_break_by_gene_symbol() -> None:
    assert top_genes(np.array([1.0, -1.0, 1.0]), ["Z", "M", "A"], k=None)["gene"].tolist() == ["A", "M", "Z"]


def test_top_genes_per_drug_sums_only_measured_pairs() -> None:
    attributions = np.zeros((2, 3, 3))
    attributions[0, 0] = [5.0, 0.0, 0.0]  # organoid 0 x drug x: gene G1, not measured
    attributions[1, 0] = [0.0, 1.0, 0.0]  # organoid 1 x drug x: gene G2
    attributions[:, 1] = [0.0, 0.0, 2.0]
    measured = np.array([[False, True, False], [True, True, False]])
    tables = top_genes_per_drug(attributions, ["G1", "G2", "G3"], ["x", "y", "z"], k=1, measured=measured)
    assert set(tables) == {"x", "y"}  # drug z has no measured pair
    assert tables["x"]["gene"].tolist() == ["G2"]
    assert tables["y"]["importance"].tolist() == [4.0]


# --- enrichment -------------------------------------------------------------------------------------

PLANTED_TERM = "HALLMARK_E2F_TARGETS"


@pytest.fixture(scope="module")
def hallmark_query() -> tuple[list[str], list[str]]:
    """A "top 200" of 30 genes of one Hallmark set plus 170 other genes, and the Hallmark universe as background."""
    gene_sets = load_collection("Hallmark")
    background = sorted(set().union(*gene_sets.values()))
    rng = np.random.default_rng(5)
    planted = rng.choice(sorted(gene_sets[PLANTED_TERM]), 30, replace=False).tolist()
    others = sorted(set(background) - gene_sets[PLANTED_TERM])
    return planted + rng.choice(others, 170, replace=False).tolist(), background


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted during an offline test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_ora_recovers_a_planted_set_offline(no_network: None, hallmark_query: tuple[list[str], list[str]]) -> None:
    query, background = hallmark_query
    result = over_representation(query, background, "Hallmark")  # paper thresholds: adj. p < 0.001, >= 10 genes
    assert result.columns.tolist() == ["term", "overlap", "set_size", "p_value", "adjusted_p", "odds_ratio", "genes"]
    top = result.iloc[0]
    assert top["term"] == PLANTED_TERM
    assert top["overlap"] == 30 and top["set_size"] == 200
    assert top["adjusted_p"] < 1e-5
    assert set(top["genes"].split(";")) == set(query[:30])


def test_gseapy_p_values_match_fisher_and_hypergeometric(hallmark_query: tuple[list[str], list[str]]) -> None:
    query, background = hallmark_query
    everything = over_representation(query, background, "Hallmark", max_adjusted_p=1.0, min_overlap=1)
    n_background, n_query = len(background), len(query)
    for _, row in everything.iloc[[0, len(everything) // 2]].iterrows():
        k, m = int(row["overlap"]), int(row["set_size"])
        assert m == len(load_collection("Hallmark")[row["term"]] & set(background))
        expected = hypergeom.sf(k - 1, n_background, m, n_query)
        _, fisher = fisher_exact([[k, n_query - k], [m - k, n_background - m - n_query + k]], alternative="greater")
        assert row["p_value"] == pytest.approx(expected, rel=1e-9)
        assert row["p_value"] == pytest.approx(fisher, rel=1e-6)
    # Benjamini-Hochberg over every tested set (all 50 Hallmark sets), sets without a hit counting p = 1.
    p_values = np.concatenate([everything["p_value"], np.ones(50 - len(everything))])
    np.testing.assert_allclose(everything["adjusted_p"], false_discovery_control(p_values)[: len(everything)])


def test_every_collection_loads_offline_and_restricts_to_the_background(no_network: None) -> None:
    panel = sorted(load_collection("Hallmark")[PLANTED_TERM] | load_collection("Hallmark")["HALLMARK_APOPTOSIS"])
    for name, collection in COLLECTIONS.items():
        assert collection.path.is_file() and collection.licence
        result = over_representation(panel[:60], panel, name, max_adjusted_p=1.0, min_overlap=1)
        assert isinstance(result, pd.DataFrame)
        assert (result["set_size"] <= len(panel)).all()
    assert "academic" in COLLECTIONS["KEGG"].licence and "academic" in COLLECTIONS["ConsensusPathDB"].licence


def test_ora_rejects_genes_outside_the_background_and_unknown_collections() -> None:
    with pytest.raises(ValueError, match="not in the background"):
        over_representation(["TP53", "NOT_A_GENE"], ["TP53", "MYC"], "Hallmark")
    with pytest.raises(ValueError, match="Unknown gene-set collection"):
        over_representation(["TP53"], ["TP53"], "GO")


def test_ora_without_any_hit_is_an_empty_table() -> None:
    background = sorted(load_collection("Hallmark")[PLANTED_TERM]) + ["NOT_IN_ANY_SET"]
    result = over_representation(["NOT_IN_ANY_SET"], background, "Hallmark", max_adjusted_p=1.0, min_overlap=1)
    assert result.empty and result.columns.tolist()[0] == "term"


def test_ranked_enrichment_finds_a_planted_set_offline(no_network: None) -> None:
    gene_sets = load_collection("Hallmark")
    background = sorted(set().union(*gene_sets.values()))
    rng = np.random.default_rng(13)
    scores = pd.Series(rng.normal(size=len(background)), index=background)
    planted = sorted(gene_sets[PLANTED_TERM])
    scores[planted] += 3.0  # the set's genes move the prediction toward resistance
    result = ranked_enrichment(scores, "Hallmark", permutations=200)
    assert result.columns.tolist() == ["term", "set_size", "nes", "p_value", "fdr", "leading_genes"]
    top = result.set_index("term").loc[PLANTED_TERM]
    assert top["nes"] > 2 and top["fdr"] < GSEA_MAX_FDR and top["set_size"] == len(planted)
    assert result.loc[result["nes"].idxmax(), "term"] == PLANTED_TERM  # sets sharing its genes come after it
