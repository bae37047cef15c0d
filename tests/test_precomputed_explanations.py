"""Reference explanations precomputed at build time (core.explain.precomputed) on a tiny bundle: what is stored
equals what the app would compute, it is tied to the bundle's manifest, and the specificity it reports is
that of the attributions."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.data.registry import load_cohort
from core.explain.bundle_attributions import (
    VIEWS,
    cohort_importance,
    organoid_attribution_rows,
    reference_attributions,
    reference_cohort_attributions,
)
from core.explain.enrichment import RANKED_COLUMNS
from core.explain.precomputed import (
    RANKED_COLLECTIONS,
    compute_reference_explanations,
    load_reference_explanations,
    relative_importance,
    save_reference_explanations,
)
from core.explain.specificity import top_k_overlap
from core.inference.bundle import load_bundle

BUNDLE = "colorectal_tdnn_finetuned"


@pytest.fixture(scope="module")
def stored(tiny_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding a copy of one tiny bundle and its precomputed explanations."""
    folder = tmp_path_factory.mktemp("explained")
    shutil.copytree(tiny_models_dir / BUNDLE, folder / BUNDLE)
    bundle = load_bundle(folder / BUNDLE)
    explained = compute_reference_explanations(bundle, load_cohort("colorectal").expression)
    save_reference_explanations(bundle, folder / BUNDLE, explained, folder / "explanations" / BUNDLE)
    return folder


def test_stored_rankings_are_what_the_app_computes(stored: Path) -> None:
    loaded = load_reference_explanations(stored, BUNDLE)
    assert loaded is not None
    bundle = load_bundle(stored / BUNDLE)
    expression = load_cohort("colorectal").expression
    assert set(loaded.genes["view"]) == set(VIEWS)
    drug = bundle.drugs["drug"].iloc[3]
    for view in VIEWS:
        table = loaded.genes[(loaded.genes["view"] == view) & (loaded.genes["drug"] == drug)]
        computed = reference_attributions(bundle, expression, drug, view).set_index("gene")
        # The app may compute the drug view by another exact route (the drug-mean gradient), so genes whose
        # importances agree to float rounding can swap places; every stored gene must carry the computed value,
        # and no gene outside the stored list may beat the last one kept.
        np.testing.assert_allclose(table["importance"], computed.loc[table["gene"], "importance"], rtol=1e-4)
        outside = computed.drop(index=table["gene"])["importance"]
        assert outside.max() <= table["importance"].min() * (1 + 1e-4)
    assert loaded.importance.shape == (len(bundle.drugs), len(bundle.genes))
    assert list(loaded.ranked.columns) == [*RANKED_COLUMNS, "drug", "collection"]
    assert set(loaded.ranked["collection"]) == set(RANKED_COLLECTIONS)


def test_specificity_is_that_of_the_attributions(stored: Path) -> None:
    loaded = load_reference_explanations(stored, BUNDLE)
    _, absolute = reference_cohort_attributions(
        load_bundle(stored / BUNDLE), load_cohort("colorectal").expression, "absolute"
    )
    assert loaded.specificity["absolute"]["top50_overlap"] == pytest.approx(top_k_overlap(np.abs(absolute).mean(0)))
    # The drug view removes what every drug shares: its attribution vectors are less alike across drugs.
    assert loaded.specificity["drug"]["cosine"] < loaded.specificity["patient"]["cosine"]


def test_relative_importance_is_zero_for_a_gene_equally_important_for_every_drug(stored: Path) -> None:
    importance = load_reference_explanations(stored, BUNDLE).importance.copy()
    importance.iloc[:, 0] = 0.5
    relative = relative_importance(importance)
    np.testing.assert_allclose(relative.iloc[:, 0], 0.0, atol=1e-12)
    assert np.isfinite(relative.to_numpy()).all()


def test_explanations_of_a_rebuilt_bundle_are_not_used(stored: Path, tmp_path: Path) -> None:
    shutil.copytree(stored, tmp_path / "models")
    manifest = tmp_path / "models" / BUNDLE / "manifest.json"
    content = json.loads(manifest.read_text())
    content["created"] = "2099-01-01T00:00:00+00:00"
    manifest.write_text(json.dumps(content))
    assert load_reference_explanations(tmp_path / "models", BUNDLE) is None


def test_drug_view_of_one_drug_equals_the_contrast_over_every_drug(stored: Path) -> None:
    bundle = load_bundle(stored / BUNDLE)
    cohort = load_cohort("colorectal").expression
    drug = bundle.drugs["drug"].iloc[2]
    one = organoid_attribution_rows(bundle, cohort.loc[["P10"]], "drug", cohort, [drug])
    every = organoid_attribution_rows(bundle, cohort.loc[["P10"]], "drug", cohort)
    np.testing.assert_allclose(one.loc[drug], every.loc[drug], rtol=1e-4, atol=1e-9)


def test_a_session_bundles_cohort_importance_is_what_the_build_stores(stored: Path) -> None:
    """The app computes a session bundle's cohort importance in the drug view directly; the build derives it
    from the patient view's contrast over drugs. Two routes, one number."""
    bundle = load_bundle(stored / BUNDLE)
    computed = cohort_importance(bundle, load_cohort("colorectal").expression)
    loaded = load_reference_explanations(stored, BUNDLE)
    assert list(computed.index) == list(loaded.importance.index) and list(computed.columns) == list(bundle.genes)
    np.testing.assert_allclose(computed.to_numpy(), loaded.importance.to_numpy(), rtol=1e-4, atol=1e-9)


def test_a_bundle_without_cross_validation_says_why_it_has_no_reference_view(stored: Path) -> None:
    bundle = load_bundle(stored / BUNDLE)
    no_cv = dataclasses.replace(bundle, manifest=dataclasses.replace(bundle.manifest, cross_validation=None))
    cohort = load_cohort("colorectal").expression
    drug = bundle.drugs["drug"].iloc[0]
    for view in ("drug", "patient"):
        with pytest.raises(ValueError, match="built without cross-validation"):
            reference_attributions(no_cv, cohort, drug, view)
    absolute = organoid_attribution_rows(no_cv, cohort.loc[["P10"]], "absolute", None, [drug])
    assert absolute.shape == (1, len(bundle.genes))  # one organoid's absolute view needs no reference cohort
