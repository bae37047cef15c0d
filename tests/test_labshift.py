"""Another lab's organoids, on real data: the cohort alignment, the out-of-range check and the committed reference
statistics (van de Wetering organoids as the reference, GDSC's cell lines as another source)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.config import data_root, models_dir
from core.data.cohort import Cohort
from core.labshift.align import align_to_reference
from core.labshift.prepare import MIN_COHORT_SIZE, MIN_TO_ALIGN, aligns_as_cohort, prepare_profiles
from core.labshift.range_check import SHIFT, TISSUE, shift_score, tissue_score
from core.labshift.reference import (
    ReferenceProfile,
    ReferenceProfileError,
    load_reference_profile,
    reference_profile_path,
)
from core.labshift.simulate import measured_shift, shift_profiles
from core.study_design import TARGET_COHORT
from training_scripts.build.build_reference_profile import TISSUE_MARKERS, build


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    return load_reference_profile(models_dir(), TARGET_COHORT)


@pytest.fixture(scope="module")
def organoids(colorectal: Cohort) -> pd.DataFrame:
    return colorectal.expression.astype(np.float64)


@pytest.fixture(scope="module")
def gdsc_tissues(gdsc1: Cohort) -> pd.Series:
    lines = pd.read_csv(data_root() / "invitro/gdsc_deepdr2023/cell_lines.csv").set_index("cell_line_id")
    return lines["tcga_label"].reindex(gdsc1.expression.index)


def test_committed_statistics_are_what_the_build_makes(reference: ReferenceProfile) -> None:
    rebuilt, loo = build(TARGET_COHORT)
    assert rebuilt.genes == reference.genes
    np.testing.assert_allclose(rebuilt.mean, reference.mean, atol=1e-4)
    np.testing.assert_allclose(rebuilt.sd, reference.sd, atol=1e-4)
    assert rebuilt.limits == reference.limits
    assert len(loo) == reference.n_samples == 22


def test_altered_statistics_are_refused(reference: ReferenceProfile, tmp_path) -> None:
    path = reference_profile_path(tmp_path, TARGET_COHORT)
    path.parent.mkdir(parents=True)
    path.write_text(reference.to_json().replace('"n_samples": 22', '"n_samples": 23'))
    with pytest.raises(ReferenceProfileError, match="altered"):
        load_reference_profile(tmp_path, TARGET_COHORT)
    path.write_text(reference.to_json()[:1000])
    with pytest.raises(ReferenceProfileError, match="not valid JSON"):
        load_reference_profile(tmp_path, TARGET_COHORT)
    with pytest.raises(ReferenceProfileError, match="missing"):
        load_reference_profile(tmp_path / "elsewhere", TARGET_COHORT)


def test_alignment_gives_every_gene_the_reference_mean_and_sd(organoids, reference) -> None:
    cohort = organoids.iloc[:10]
    aligned = align_to_reference(cohort, reference).astype(np.float64)
    mean, sd = reference.series()
    genes = aligned.columns[aligned.notna().all().to_numpy()]
    assert len(genes) > 11_000
    np.testing.assert_allclose(aligned[genes].mean(), mean[genes], atol=1e-3)
    np.testing.assert_allclose(aligned[genes].std(ddof=1), sd[genes], rtol=1e-3)
    # A sample's place within its cohort is kept: the per-gene order of organoids does not change.
    assert (aligned[genes].rank().to_numpy() == cohort[genes].rank().to_numpy()).all()


def test_alignment_removes_a_lab_effect_exactly(organoids, reference) -> None:
    """Any per-gene offset and positive scale a lab adds (not a monotone distortion) leaves the aligned cohort as
    it was: the lab is gone, the organoids' differences stay."""
    cohort = organoids.iloc[5:15]
    rng = np.random.default_rng(0)
    offsets = rng.normal(0, 2.5, cohort.shape[1])
    scales = np.exp(rng.normal(0, 0.7, cohort.shape[1]))
    other_lab = cohort * scales + offsets
    np.testing.assert_allclose(
        align_to_reference(other_lab, reference).to_numpy(),
        align_to_reference(cohort, reference).to_numpy(),
        atol=1e-3,
    )


def test_genes_the_reference_lacks_become_missing(organoids, reference) -> None:
    cohort = organoids.iloc[:8].assign(NOT_A_REFERENCE_GENE=np.arange(8.0))
    cohort["A1BG"] = 5.0  # no spread in the cohort: cannot be placed
    aligned = align_to_reference(cohort, reference)
    assert aligned["NOT_A_REFERENCE_GENE"].isna().all() and aligned["A1BG"].isna().all()


def test_reference_organoids_pass_leave_one_out(organoids, reference) -> None:
    passed = 0
    for sample in organoids.index:
        others = ReferenceProfile.from_expression(
            TARGET_COHORT, organoids.drop(index=sample), TISSUE_MARKERS[TARGET_COHORT]
        )
        profile = organoids.loc[sample]
        passed += shift_score(profile, others) <= reference.limits[SHIFT] and (
            tissue_score(profile, others) >= reference.limits[TISSUE]
        )
    assert passed / len(organoids) >= 0.9


def test_scores_ignore_a_samples_own_location_and_scale(organoids, reference) -> None:
    profile = organoids.iloc[0]
    assert shift_score(profile * 0.5 - 3, reference) == pytest.approx(shift_score(profile, reference), rel=1e-6)
    assert tissue_score(profile * 0.5 - 3, reference) == pytest.approx(tissue_score(profile, reference))


def test_other_sources_are_flagged(gdsc1: Cohort, gdsc_tissues: pd.Series, reference) -> None:
    """GDSC's colorectal lines and lines of other tissues, as single profiles, fail the check (README: > 90 %)."""
    for label in ("COREAD", "SKCM", "LUAD"):
        lines = gdsc1.expression.loc[gdsc_tissues.index[gdsc_tissues == label]]
        flagged = [shift_score(line, reference) > reference.limits[SHIFT] for _, line in lines.iterrows()]
        assert np.mean(flagged) >= 0.9, label


def test_tissue_score_tells_colorectal_lines_from_melanoma(gdsc1: Cohort, gdsc_tissues: pd.Series, reference) -> None:
    def scores(label: str) -> np.ndarray:
        lines = gdsc1.expression.loc[gdsc_tissues.index[gdsc_tissues == label]]
        return np.array([tissue_score(line, reference) for _, line in lines.iterrows()])

    colorectal, melanoma = scores("COREAD"), scores("SKCM")
    assert np.median(colorectal) > np.median(melanoma) + 0.2
    assert (melanoma < reference.limits[TISSUE]).mean() >= 0.5


def test_a_simulated_lab_at_the_real_magnitude_is_flagged_and_aligned_back(
    organoids, gdsc1: Cohort, gdsc_tissues: pd.Series, reference
) -> None:
    lines = gdsc1.expression.loc[gdsc_tissues.index[gdsc_tissues == "COREAD"]]
    size = measured_shift(lines, reference)
    assert 1.0 < size.offset_sd < 5.0  # log2 units: GDSC's array and cell lines against the organoids
    lab = shift_profiles(organoids.iloc[:MIN_COHORT_SIZE], size, 1.0, np.random.default_rng(3))
    single = prepare_profiles(lab, reference, same_lab=False)
    assert not single.aligned and len(single.out_of_range()) == MIN_COHORT_SIZE
    assert all(v.problem == "lab" and "other organoids from your lab" in v.message for v in single.verdicts.values())
    cohort = prepare_profiles(lab, reference)
    assert cohort.aligned and cohort.out_of_range() == []


def test_the_alignment_rule() -> None:
    assert not aligns_as_cohort(MIN_COHORT_SIZE - 1, None)
    assert aligns_as_cohort(MIN_COHORT_SIZE, None)
    assert not aligns_as_cohort(MIN_COHORT_SIZE + 5, False)
    assert aligns_as_cohort(MIN_TO_ALIGN, True)
    assert not aligns_as_cohort(MIN_TO_ALIGN - 1, True)


def test_a_small_cohort_is_aligned_on_request_and_called_rough(organoids, reference) -> None:
    prepared = prepare_profiles(organoids.iloc[:MIN_TO_ALIGN], reference, same_lab=True)
    assert prepared.aligned and "approximate" in prepared.explanation


def test_too_few_to_align_is_said(organoids, reference) -> None:
    prepared = prepare_profiles(organoids.iloc[: MIN_TO_ALIGN - 1], reference, same_lab=True)
    assert not prepared.aligned and "too few to align" in prepared.explanation
    assert prepared.out_of_range() == []  # reference organoids read as they are
    pd.testing.assert_frame_equal(prepared.expression, organoids.iloc[:2])
