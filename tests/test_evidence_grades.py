"""The evidence scale every page, the report and the performance table word a model's within-drug score by."""

from __future__ import annotations

import pytest

from core.evaluation.evidence import CHANCE, GRADE_WORDS, NO_BETTER, ORDERS, WEAK, Evidence


def _found(within_drug: float, p_value: float) -> Evidence:
    return Evidence(within_drug, float("nan"), float("nan"), 0.1, p_value, 1000)


@pytest.mark.parametrize(
    "within_drug, p_value, grade",
    [
        (-0.21, 0.70, NO_BETTER),
        (0.0, 0.01, NO_BETTER),  # at 0 the ordering is a drug's average, whatever p says
        (0.01, 0.47, CHANCE),  # tDNN from scratch, committed: shuffles do as well half the time
        (0.18, 0.25, CHANCE),
        (0.24, 0.14, WEAK),  # ConvNN zero-shot, committed: a trend chance reaches one time in seven
        (0.30, 0.05, WEAK),
        (0.30, 0.049, ORDERS),
    ],
)
def test_each_score_gets_the_words_of_its_grade(within_drug: float, p_value: float, grade: str) -> None:
    found = _found(within_drug, p_value)
    assert found.grade == grade
    assert found.verdict().startswith(f"{GRADE_WORDS[grade]} (cross-validated within-drug r = {within_drug:+.2f}")
    assert found.orders_samples == (grade == ORDERS)


def test_a_chance_level_score_and_a_weak_one_are_worded_apart() -> None:
    """The issue's pair: r +0.01 (p 0.47) and r +0.24 (p 0.14) had the same "weak evidence" label."""
    chance, weak = _found(0.01, 0.47).verdict(), _found(0.24, 0.14).verdict()
    assert chance.split(" (")[0] != weak.split(" (")[0]
    assert "47% of permutations" in chance and "could be chance" in weak
    assert len(set(GRADE_WORDS.values())) == len(GRADE_WORDS)  # no two grades share their words
