"""The one written rule for which model of an architecture a page opens on, and in which order models are shown.

Evidence with power decides first: a training shown to order held-out samples it never saw (GDSC's lines of the
target lineage: permutation null SD about 0.035) beats any training without such proof, and one shown to order
them the wrong way loses to any other. Between trainings the held-out test cannot tell apart, the organoid
cross-validation (19 organoids, null SD 0.10-0.20) breaks the tie, as it was the only rule before held-out
evidence existed.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.evaluation.evidence import Evidence
from core.evaluation.held_out import NEUTRAL, ORDERS, HeldOutEvidence


def evidence_order(
    organoids: Mapping[str, Evidence | None], held_out: Mapping[str, HeldOutEvidence | None] | None = None
) -> list[str]:
    """The trainings of ``organoids`` best evidence first (stable: unscored trainings keep their order, last)."""
    held_out = held_out or {}

    def strength(training: str) -> tuple[int, float, float]:
        powered = held_out.get(training)
        verdict = powered.verdict if powered is not None else NEUTRAL
        powered_r = powered.evidence.within_drug if verdict == ORDERS else 0.0
        found = organoids[training]
        return verdict, powered_r, found.within_drug if found is not None else float("-inf")

    return sorted(organoids, key=strength, reverse=True)


def default_training(
    organoids: Mapping[str, Evidence | None], held_out: Mapping[str, HeldOutEvidence | None] | None = None
) -> str | None:
    """The training a page opens on: the first of :func:`evidence_order`; None when no training has evidence."""
    held_out = held_out or {}
    scored = [t for t in organoids if organoids[t] is not None or held_out.get(t) is not None]
    return evidence_order(organoids, held_out)[0] if scored else None
