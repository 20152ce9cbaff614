"""Turning option likelihoods into a decision."""

import math

import pytest

from doppel.inference.decisions import DecisionError, check_options, decide_from_scores, situation_text


def test_probabilities_sum_to_one_and_the_best_wins():
    d = decide_from_scores(["Accept", "Counter-offer", "Decline"], [-5.0, -1.0, -3.0], abstain_below=0.5)
    assert d.choice == "Counter-offer" and not d.abstained
    assert math.isclose(sum(d.probabilities.values()), 1.0)
    assert d.probabilities["Counter-offer"] > d.probabilities["Decline"] > d.probabilities["Accept"]


def test_a_flat_distribution_abstains():
    d = decide_from_scores(["A", "B", "C", "D"], [-2.0, -2.0, -2.0, -2.0], abstain_below=0.5)
    assert d.abstained and d.choice in {"A", "B", "C", "D"}
    assert all(math.isclose(p, 0.25) for p in d.probabilities.values())


def test_extreme_log_likelihoods_do_not_overflow():
    d = decide_from_scores(["A", "B"], [-1000.0, -float("inf")], abstain_below=0.5)
    assert d.choice == "A" and math.isclose(d.probabilities["A"], 1.0)


@pytest.mark.parametrize("options, words", [(["only"], "two"), (["A", " a"], "twice"), (["A", " "], "empty")])
def test_bad_options_are_named(options, words):
    with pytest.raises(DecisionError) as err:
        check_options(options)
    assert err.value.field == "options" and words in str(err.value)


def test_a_context_mapping_reads_as_lines_with_the_question_last():
    text = situation_text({"question": "Close it?", "deal_amount": 50000, "deal_stage": "negotiation"})
    assert text == "deal amount: 50,000\ndeal stage: negotiation\n\nClose it?"
