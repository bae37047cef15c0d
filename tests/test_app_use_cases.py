"""The app's use-cases in core, without Streamlit, on the committed bundles and the real colorectal organoids:
which bundles the app offers and in what order, one organoid's ranking as the ranking page shows it, and the
performance page's rows of shipped models, and the
answers read from the precomputed explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.config import REPO_ROOT
from core.data.cohort import Cohort
from core.evaluation.cohort_scores import per_drug_reliability
from core.evaluation.default_model import default_training
from core.evaluation.evidence import Evidence, evidence_file, stored_evidence
from core.evaluation.held_out import DISORDERS, held_out_of
from core.evaluation.metrics import HEADLINE
from core.evaluation.performance import model_rows, single_run_seed_sd
from core.explain.precomputed import load_reference_explanations
from core.inference.bundle import ModelBundle, list_bundles, load_bundle, read_manifest
from core.models import SPECS
from core.study_design import TARGET_COHORT, TRAINING_LABELS, TRAININGS
from core.usecases.bundle_grid import app_bundles, bundle_grid, reference_cohort
from core.usecases.predict import rank_drugs
from core.usecases.ranking import (
    REPORT_TOP_DRUGS,
    drug_reliability,
    drugs_to_explain,
    organoid_ranking,
    reference_label,
)
from core.usecases.stored_explanations import GENES_SHOWN, stored_gene_ranking, stored_ranked_pathways

COMMITTED = REPO_ROOT / "trained_models"


@pytest.fixture(scope="module")
def convnn_bundles() -> dict[str, ModelBundle]:
    return {
        training: load_bundle(COMMITTED / f"{TARGET_COHORT}_convnn_{training}")
        for training in ("finetuned", "zeroshot")
    }


def test_the_app_offers_the_target_cohorts_bundles_in_menu_order() -> None:
    everything = list_bundles(COMMITTED)
    offered = app_bundles(COMMITTED)
    assert "pancreas-panel_tdnn_zeroshot" in everything and "pancreas-panel_tdnn_zeroshot" not in offered
    assert set(offered) == {f"{TARGET_COHORT}_{model}_{training}" for model in SPECS for training in TRAININGS}
    grid = bundle_grid(offered)
    assert list(grid) == list(SPECS)
    for model, trainings in grid.items():
        assert list(trainings) == list(TRAININGS)
        assert all(name == f"{TARGET_COHORT}_{model}_{training}" for training, name in trainings.items())
    assert {reference_cohort(manifest) for manifest in offered.values()} == {TARGET_COHORT}


def test_the_grid_orders_what_it_is_given_not_what_it_found_first() -> None:
    offered = app_bundles(COMMITTED)
    reversed_order = dict(reversed(list(offered.items())))
    assert bundle_grid(reversed_order) == bundle_grid(offered)
    assert bundle_grid({}) == {}


def test_another_cohort_offers_only_its_own_bundles() -> None:
    assert app_bundles(COMMITTED, cohort="pancreas") == {}


def test_an_organoid_ranking_joins_predictions_and_per_drug_reliability(convnn_bundles, colorectal: Cohort) -> None:
    bundle = convnn_bundles["finetuned"]
    organoid = colorectal.expression.iloc[[0]]
    table = organoid_ranking(bundle, organoid)
    raw = rank_drugs(bundle, organoid)
    assert list(table["rank"]) == list(range(1, len(bundle.drugs) + 1))
    # ranked by the calibrated probability, then by z (every drug a coin's 1/2: the z order)
    assert list(zip(-table["p_more_sensitive"], table["z_score"])) == sorted(
        zip(-table["p_more_sensitive"], table["z_score"])
    )
    np.testing.assert_allclose(table["z_score"].sort_values(), raw["z_score"].sort_values())
    assert ((table["p_more_sensitive"] == 0.5) == table["coin"]).all()
    r = per_drug_reliability(bundle.reference_predictions).set_index("drug")["r"]
    np.testing.assert_allclose(table["reliability_r"], table["drug"].map(r), equal_nan=True)
    assert (table["no_better_than_naive"] == ~(table["reliability_r"] > 0)).all()
    assert 0 < table["no_better_than_naive"].sum() < len(table)  # both trainings of drug occur in the committed bundle
    assert table["z_uncertainty"].notna().all() and (table["uncertainty"] > 0).all()
    assert reference_label(bundle.manifest) == TARGET_COHORT


def test_a_given_reliability_is_used_as_given(convnn_bundles, colorectal: Cohort) -> None:
    bundle = convnn_bundles["finetuned"]
    reliability = drug_reliability(bundle).assign(r=1.0)
    table = organoid_ranking(bundle, colorectal.expression.iloc[[1]], reliability)
    assert (table["reliability_r"] == 1.0).all() and not table["no_better_than_naive"].any()


def test_a_drug_with_evidence_ranks_by_its_probability_and_a_coin_drug_gets_one_half(
    convnn_bundles, colorectal: Cohort
) -> None:
    """No committed drug's reliability is told from 0 (19 organoids), so one is given evidence here: it leaves
    the coins, its p follows its z, and it ranks above every coin when predicted sensitive."""
    bundle = convnn_bundles["finetuned"]
    organoid = colorectal.expression.iloc[[1]]
    reliability = drug_reliability(bundle)
    assert not reliability["better_than_coin"].any()
    most_resistant = rank_drugs(bundle, organoid).sort_values("z_score")["drug"].iloc[-1]
    least_sensitive_first = organoid_ranking(bundle, organoid, reliability)
    assert (least_sensitive_first["p_more_sensitive"] == 0.5).all() and least_sensitive_first["coin"].all()
    confident = reliability["drug"] == most_resistant
    reliability.loc[confident, ["z_mean", "z_sd", "better_than_coin"]] = [np.arctanh(0.6), 0.05, True]
    table = organoid_ranking(bundle, organoid, reliability).set_index("drug")
    assert table.loc[most_resistant, "p_more_sensitive"] < 0.5 and not table.loc[most_resistant, "coin"]
    assert table.loc[most_resistant, "rank"] == len(table)  # predicted resistant with evidence: below every coin
    most_sensitive = table["z_score"].idxmin()
    assert table.loc[most_sensitive, "z_score"] < 0
    reliability.loc[reliability["drug"] == most_sensitive, ["z_mean", "z_sd", "better_than_coin"]] = [
        np.arctanh(0.6),
        0.05,
        True,
    ]
    table = organoid_ranking(bundle, organoid, reliability).set_index("drug")
    assert table.loc[most_sensitive, "rank"] == 1 and table.loc[most_sensitive, "p_more_sensitive"] > 0.5


def test_a_zero_shot_ranking_shows_no_spread(convnn_bundles, colorectal: Cohort) -> None:
    table = organoid_ranking(convnn_bundles["zeroshot"], colorectal.expression.iloc[[0]])
    assert table["uncertainty"].isna().all() and table["z_uncertainty"].isna().all()
    assert table["z_score"].notna().all()


def test_a_ranking_is_of_one_organoid(convnn_bundles, colorectal: Cohort) -> None:
    with pytest.raises(ValueError, match="one organoid"):
        organoid_ranking(convnn_bundles["finetuned"], colorectal.expression.iloc[:2])
    with pytest.raises(ValueError, match="one organoid"):
        organoid_ranking(convnn_bundles["finetuned"], pd.DataFrame(columns=colorectal.expression.columns))


def _shipped_models() -> list[tuple[str, str, pd.DataFrame, Evidence]]:
    stored = pd.read_csv(evidence_file(COMMITTED))
    models = []
    for architecture, trainings in bundle_grid(app_bundles(COMMITTED)).items():
        for training, name in trainings.items():
            manifest = read_manifest(COMMITTED / name)
            found = stored_evidence(stored, name, manifest)
            assert found is not None, f"{name} has no stored evidence for its current reference predictions"
            models.append((architecture, training, pd.read_csv(COMMITTED / name / "benchmark.csv"), found))
    return models


def test_the_performance_pages_model_rows_carry_each_bundles_evidence_and_stored_scores() -> None:
    models = _shipped_models()
    rows = model_rows(models)
    assert len(rows) == len(models) == len(SPECS) * len(TRAININGS)
    for (architecture, training, benchmark, found), (_, row) in zip(models, rows.iterrows()):
        assert row["key"] == (architecture, training)
        assert row["architecture"] == SPECS[architecture].label and row["training"] == TRAINING_LABELS[training]
        assert row[HEADLINE] == found.within_drug and row["permutation p"] == found.p_value
        assert row["orders"] == found.orders_samples and found.verdict().startswith(row["verdict"])
        assert row["mse"] == benchmark.iloc[0]["mse"]  # the stored score, not recomputed
    assert rows[HEADLINE].nunique() == len(rows)  # every model its own number


def test_the_seed_spread_of_single_runs_leaves_out_differences() -> None:
    spread = pd.read_csv(COMMITTED / "benchmark" / "seed_spread.csv")
    single = single_run_seed_sd(spread)
    chosen = spread.loc[single.index]
    assert len(single) > 0 and (chosen["score"] == "within_drug_pearson").all()
    assert not chosen["model"].str.contains(" - ").any()
    assert len(single) == spread[spread["score"] == "within_drug_pearson"]["model"].map(lambda m: " - " not in m).sum()


def test_stored_gene_rankings_answer_only_where_enough_genes_were_stored() -> None:
    explained = load_reference_explanations(COMMITTED, f"{TARGET_COHORT}_convnn_finetuned")
    assert explained is not None
    counts = explained.genes.groupby(["drug", "view"]).size()
    (drug, view), most = counts.idxmax(), counts.max()
    table = stored_gene_ranking(explained, drug, view)
    assert table is not None and len(table) == most >= GENES_SHOWN
    assert not {"drug", "view", "rank"} & set(table.columns)
    stored = explained.genes[(explained.genes["drug"] == drug) & (explained.genes["view"] == view)]
    assert list(table["gene"]) == list(stored.sort_values("rank")["gene"])
    assert stored_gene_ranking(explained, drug, view, rows=most + 1) is None
    assert stored_gene_ranking(explained, "no such drug", view) is None
    assert stored_gene_ranking(None, drug, view) is None


def test_stored_ranked_pathways_are_the_drugs_and_collections_own() -> None:
    explained = load_reference_explanations(COMMITTED, f"{TARGET_COHORT}_tdnn_finetuned")
    assert explained is not None
    drug, collection = explained.ranked.iloc[0][["drug", "collection"]]
    found = stored_ranked_pathways(explained, drug, collection)
    expected = explained.ranked[(explained.ranked["drug"] == drug) & (explained.ranked["collection"] == collection)]
    assert found is not None and list(found["term"]) == list(expected["term"]) and "drug" not in found.columns
    other = next(c for c in explained.ranked["collection"].unique() if c != collection)
    assert set(stored_ranked_pathways(explained, drug, other)["term"]) != set(found["term"])
    assert stored_ranked_pathways(explained, "no such drug", collection) is None


def test_the_report_explains_the_top_drugs_and_the_picked_one(convnn_bundles, colorectal: Cohort) -> None:
    table = organoid_ranking(convnn_bundles["finetuned"], colorectal.expression.iloc[[0]])
    top = list(table["drug"].head(REPORT_TOP_DRUGS))
    last = table["drug"].iloc[-1]
    assert drugs_to_explain(table.sample(frac=1, random_state=0), last) == [*top, last]
    assert drugs_to_explain(table, top[1]) == top
    assert drugs_to_explain(table, None) == top


def test_the_ranking_opens_on_the_best_powered_evidence_then_the_organoid_cross_validation() -> None:
    stored = pd.read_csv(evidence_file(COMMITTED))
    opened = {}
    for architecture, trainings in bundle_grid(app_bundles(COMMITTED)).items():
        manifests = {training: read_manifest(COMMITTED / name) for training, name in trainings.items()}
        found = {t: stored_evidence(stored, trainings[t], manifests[t]) for t in trainings}
        held_out = {t: held_out_of(COMMITTED, trainings[t], manifests[t]) for t in trainings}
        best = default_training(found, held_out)
        assert held_out[best].verdict != DISORDERS
        candidates = [t for t in trainings if held_out[t].verdict == held_out[best].verdict]
        assert found[best].within_drug == max(found[t].within_drug for t in candidates)
        assert default_training({**found, best: None}, {**held_out, best: None}) != best
        opened[architecture] = best
    assert default_training({training: None for training in TRAININGS}) is None
    assert len(set(opened.values())) > 1  # the committed architectures do not all open on the same training
