"""The trivial pickers a twin's decisions must beat, and the paired test of twin against base model."""

import math

import pytest

from doppel.evaluation.baselines import OverlapPicker, longest_pick, mcnemar, tie_share


def test_the_longest_option_wins_and_ties_share_the_credit():
    assert longest_pick(["No", "Counter at 12%", "Yes"], "Counter at 12%") == 1.0
    assert longest_pick(["No", "Counter at 12%", "Yes"], "No") == 0.0
    assert tie_share([3, 3, 1], 0) == 0.5 and tie_share([3, 3, 1], 2) == 0.0


def test_overlap_prefers_the_persons_words_whatever_the_length():
    picker = OverlapPicker(["Paid pilot, credited against year one.", "No free pilots. Paid pilot or nothing."])
    short, long = "Paid pilot", "Run a complimentary evaluation period for the whole insights team"
    assert picker.pick([long, short], short) == 1.0
    # Function words do not count as overlap: "the" and "a" are everyone's.
    assert picker.score("the a of") == 0.0


def test_nothing_learned_overlaps_with_nothing():
    picker = OverlapPicker([])
    assert picker.pick(["A", "B", "C"], "B") == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "first_only, second_only, p",
    [
        (0, 0, 1.0),
        (5, 0, 2 / 2**5),  # all five discordant questions went one way: 2 * 0.5^5
        (3, 3, 1.0),
        (7, 2, 2 * sum(math.comb(9, k) for k in range(3)) / 2**9),
    ],
)
def test_mcnemar_exact_p_values(first_only, second_only, p):
    both = [True] * 4
    first = [True] * first_only + [False] * second_only + both
    second = [False] * first_only + [True] * second_only + both
    result = mcnemar(first, second)
    assert (result["first_only"], result["second_only"]) == (first_only, second_only)
    assert result["p_value"] == pytest.approx(p)
    assert result["significant"] == (p < 0.05)


def test_mcnemar_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    first = [True] * 12 + [False] * 3 + [True] * 10 + [False] * 11
    second = [False] * 12 + [True] * 3 + [True] * 10 + [False] * 11
    expected = stats.binomtest(3, 15, 0.5).pvalue
    assert mcnemar(first, second)["p_value"] == pytest.approx(expected)


def test_mcnemar_needs_the_same_questions():
    with pytest.raises(ValueError):
        mcnemar([True], [True, False])
