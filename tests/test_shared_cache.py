"""What the server shares between sessions to be fast, and what it must not keep: the committed zero-shot bundle's
members share one network (the others each keep their own), the reference organoids are read once whichever way a
page asks for them, and the collections that keep page runs short still free a session's data once it is garbage."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from core.config import REPO_ROOT
from core.inference.bundle import load_bundle
from core.study_design import TARGET_COHORT
from core.usecases.predict import member_predictions
from dashboard.bundles import reference_expression
from dashboard.session import collect_and_freeze

COMMITTED = REPO_ROOT / "trained_models"


def test_zero_shot_members_share_one_network_and_predict_as_built() -> None:
    zeroshot = load_bundle(COMMITTED / f"{TARGET_COHORT}_tdnn_zeroshot")
    scratch = load_bundle(COMMITTED / f"{TARGET_COHORT}_tdnn_scratch")
    assert len(zeroshot.members) == 5
    assert len({id(member.trained.model) for member in zeroshot.members}) == 1
    assert len({id(member.trained.model) for member in scratch.members}) == len(scratch.members)
    # Each reference organoid predicted by the member that held it out, as the build wrote it (6 digits).
    folds = zeroshot.manifest.cross_validation.folds
    samples = sorted(folds)[:3]
    predicted = member_predictions(zeroshot, reference_expression().loc[samples])
    stored = zeroshot.reference_predictions.pivot(index="sample", columns="drug", values="y_pred")
    for row, sample in enumerate(samples):
        expected = stored.loc[sample, zeroshot.drugs["drug"]].to_numpy(float)
        np.testing.assert_allclose(predicted[folds[sample], row], expected, rtol=2e-5, atol=1e-6)


def test_the_reference_organoids_are_read_once_however_a_page_asks() -> None:
    assert reference_expression() is reference_expression(TARGET_COHORT)


class _Upload:
    """Stands for what a session holds: in a reference cycle, as Streamlit's session objects are."""

    def __init__(self) -> None:
        self.me = self


def test_what_was_frozen_while_a_session_used_it_is_freed_after_the_session() -> None:
    held = _Upload()
    gone = weakref.ref(held)
    collect_and_freeze()  # while a session holds it: frozen with everything else alive
    assert gc.get_freeze_count() > 0
    del held  # the session ended: only the cycle keeps it
    gc.collect()
    assert gone() is not None  # a frozen cycle is out of an ordinary collection's sight...
    collect_and_freeze()
    assert gone() is None  # ...and freed by the next turn of the release thread
