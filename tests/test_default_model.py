"""The written rule for the model a page opens on (issue 22): held-out evidence with power first, the organoid
cross-validation as tie-break; and the held-out evidence read back only for the bundle it was computed from."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.config import REPO_ROOT
from core.evaluation.default_model import default_training, evidence_order
from core.evaluation.evidence import Evidence
from core.evaluation.held_out import (
    DISORDERS,
    NEUTRAL,
    ORDERS,
    HeldOutEvidence,
    drug_rows,
    held_out_of,
    independent_drug_evidence,
    stored_held_out,
    summary_row,
)
from core.evaluation.reliability import DrugEvidence
from core.inference.bundle import read_manifest

COMMITTED = REPO_ROOT / "trained_models"


def organoid(r: float) -> Evidence:
    return Evidence(r, r, r, null_sd=0.15, p_value=0.5, n_permutations=1000)


def lines(r: float, p: float, independent: bool = True) -> HeldOutEvidence:
    return HeldOutEvidence("GDSC colorectal lines", 44, independent, Evidence(r, r, r, 0.035, p, 1000))


@pytest.mark.parametrize(
    ("r", "p", "independent", "verdict"),
    [
        (0.10, 0.01, True, ORDERS),
        (0.10, 0.05, True, NEUTRAL),  # p must be below 0.05
        (0.02, 0.30, True, NEUTRAL),
        (-0.11, 0.98, True, DISORDERS),
        (-0.11, 0.90, True, NEUTRAL),
        (0.25, 0.001, False, NEUTRAL),  # a fit to lines the training saw is no evidence
        (-0.20, 0.999, False, NEUTRAL),
    ],
)
def test_held_out_verdicts(r: float, p: float, independent: bool, verdict: int) -> None:
    assert lines(r, p, independent).verdict == verdict


def test_without_held_out_evidence_the_organoid_cross_validation_decides() -> None:
    found = {"scratch": organoid(0.03), "finetuned": organoid(-0.2), "zeroshot": organoid(0.24)}
    assert default_training(found) == "zeroshot"
    assert evidence_order(found) == ["zeroshot", "scratch", "finetuned"]
    assert default_training(found, {t: lines(0.02, 0.4) for t in found}) == "zeroshot"  # lines cannot tell them apart


def test_a_model_that_orders_held_out_lines_wins_over_a_better_organoid_score() -> None:
    found = {"scratch": organoid(-0.10), "finetuned": organoid(0.20), "zeroshot": organoid(0.30)}
    held_out = {"scratch": lines(0.09, 0.01), "finetuned": lines(0.25, 0.001, independent=False), "zeroshot": None}
    assert default_training(found, held_out) == "scratch"
    assert evidence_order(found, held_out) == ["scratch", "zeroshot", "finetuned"]


def test_between_models_that_both_order_the_lines_the_higher_held_out_score_wins() -> None:
    found = {"scratch": organoid(0.30), "finetuned": organoid(0.00)}
    assert default_training(found, {"scratch": lines(0.08, 0.02), "finetuned": lines(0.15, 0.001)}) == "finetuned"


def test_a_model_that_orders_the_lines_the_wrong_way_opens_last() -> None:
    found = {"scratch": organoid(0.30), "finetuned": organoid(-0.20), "zeroshot": None}
    held_out = {"scratch": lines(-0.11, 0.98), "finetuned": None, "zeroshot": None}
    assert default_training(found, held_out) == "finetuned"
    assert evidence_order(found, held_out) == ["finetuned", "zeroshot", "scratch"]


def test_nothing_scored_opens_nothing() -> None:
    assert default_training({"scratch": None, "finetuned": None}) is None
    assert default_training({"scratch": None}, {"scratch": lines(0.1, 0.01)}) == "scratch"


def test_held_out_evidence_is_read_back_only_for_the_bundle_it_was_computed_from() -> None:
    manifest = read_manifest(COMMITTED / "colorectal_tdnn_scratch")
    found = lines(0.12, 0.004)
    table = pd.DataFrame([summary_row("colorectal_tdnn_scratch", manifest, found)])
    assert stored_held_out(table, "colorectal_tdnn_scratch", manifest) == found
    assert stored_held_out(table.assign(reference_sha256="0" * 64), "colorectal_tdnn_scratch", manifest) is None
    assert stored_held_out(table, "colorectal_tdnn_finetuned", manifest) is None
    assert stored_held_out(table.assign(p_value=1.5), "colorectal_tdnn_scratch", manifest) is None  # damaged
    assert stored_held_out(table.assign(independent="maybe"), "colorectal_tdnn_scratch", manifest) is None
    round_tripped = pd.read_csv(pd.io.common.StringIO(table.to_csv(index=False)))
    assert stored_held_out(round_tripped, "colorectal_tdnn_scratch", manifest) == found
    drugs = DrugEvidence("lines", pd.DataFrame({"drug": ["A"], "n": [40], "r": [0.1], "se": [0.16]}), 0.05)
    assert set(drug_rows("colorectal_tdnn_scratch", manifest, drugs).columns) >= {"drug", "r", "se", "mean_se"}


def test_every_committed_colorectal_bundle_has_held_out_evidence_and_only_independent_ones_enter_reliability() -> None:
    for training in ("scratch", "finetuned", "zeroshot"):
        for architecture in ("tdnn", "convnn", "paccmann"):
            name = f"colorectal_{architecture}_{training}"
            manifest = read_manifest(COMMITTED / name)
            found = held_out_of(COMMITTED, name, manifest)
            assert found is not None and found.samples >= 40, name
            assert found.independent == (training == "scratch"), name  # the shipped pre-training saw the lines
            per_drug = independent_drug_evidence(COMMITTED, name, manifest)
            assert (per_drug is not None) == found.independent, name
            if per_drug is not None:
                floor = 1 / np.sqrt(per_drug.table["n"] - 3)  # the textbook SE is the floor of the permutation SE
                assert len(per_drug.table) >= 50 and (per_drug.table["se"] >= floor - 1e-4).all()
    altered = replace(read_manifest(COMMITTED / "colorectal_tdnn_scratch"), files={})  # not the scored bundle
    assert held_out_of(COMMITTED, "colorectal_tdnn_scratch", altered) is None


def test_the_lines_narrow_the_reliability_of_a_bundle_that_never_saw_them() -> None:
    from core.inference.bundle import load_bundle
    from core.usecases.ranking import drug_reliability

    bundle = load_bundle(COMMITTED / "colorectal_convnn_scratch")
    lines = independent_drug_evidence(COMMITTED, bundle.name, bundle.manifest)
    organoids_only = drug_reliability(bundle).set_index("drug")
    both = drug_reliability(bundle, lines).set_index("drug")
    assert (both["z_sd"] < organoids_only["z_sd"]).all()  # more evidence on every drug, so a narrower interval
    assert (both["r"] == organoids_only["r"]).all()  # the raw column stays the organoids' cross-validated r
