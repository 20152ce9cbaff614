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


class _Prompter:
    """One token per character, and one for the end of the turn."""

    def answer_text(self, option: str) -> str:
        return option + "|"

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]


class _Backend:
    """Every token costs 1 nat; the situation adds a bonus to the options it favours. What the twin learned
    (``learned``) lifts an option whatever the situation; the base model (``score_base``) knows none of it."""

    scores_base = True

    def __init__(self, favoured: dict[str, float], learned: dict[str, float] | None = None):
        self.favoured = favoured
        self.learned = learned or {}
        self.calls: list[tuple[str, list[dict]]] = []

    def score(self, messages, options):
        self.calls.append(("twin", list(messages)))
        return [s + self.learned.get(o, 0.0) for s, o in zip(self._plain(messages, options), options)]

    def score_base(self, messages, options):
        self.calls.append(("base", list(messages)))
        return self._plain(messages, options)

    def _plain(self, messages, options):
        situated = "N/A" not in messages[-1]["content"]
        return [-(len(o) + 1) + (self.favoured.get(o, 0.0) if situated else 0.0) for o in options]


def test_pmi_cancels_length_and_keeps_what_the_situation_and_the_person_add():
    from doppel.config import Persona
    from doppel.inference.decisions import decision_messages, neutral_messages, option_scores

    options = ["No", "Counter at 12% for an annual prepay"]
    backend = _Backend({"Counter at 12% for an annual prepay": 0.5}, learned={"No": 0.25})
    asked = decision_messages(Persona(), "They ask for 30% off.", options)
    neutral = neutral_messages(Persona(), options)
    assert "They ask for 30% off." not in neutral[-1]["content"] and "Counter at 12%" in neutral[-1]["content"]
    # pmi: the base model's neutral log-probability of the same tokens is taken off; the twin's learned
    # preference stays.
    pmi = option_scores(backend, _Prompter(), asked, options, scoring="pmi", neutral=neutral)
    assert pmi == [0.25, 0.5]
    assert [who for who, _ in backend.calls] == ["twin", "base"]
    # pmi_self takes the twin's own neutral answer off, learned preference and all: only the situation is left.
    assert option_scores(backend, _Prompter(), asked, options, scoring="pmi_self", neutral=neutral) == [0.0, 0.5]
    mean = option_scores(backend, _Prompter(), asked, options, scoring="mean")
    assert mean[0] == pytest.approx((-3 + 0.25) / 3) and mean[1] == pytest.approx((-36 + 0.5) / 36)
    with pytest.raises(ValueError, match="neutral"):
        option_scores(backend, _Prompter(), asked, options, scoring="pmi")
    with pytest.raises(ValueError, match="unknown decision scoring"):
        option_scores(backend, _Prompter(), asked, options, scoring="sum", neutral=neutral)


def test_pmi_falls_back_to_the_twins_own_reference_where_the_base_model_is_out_of_reach():
    from doppel.inference.decisions import option_scores, resolved_scoring

    remote = _Backend({})
    remote.scores_base = False
    assert resolved_scoring("pmi", remote) == "pmi_self"
    assert resolved_scoring("pmi", _Backend({})) == "pmi"
    assert resolved_scoring("mean", remote) == "mean"
    with pytest.raises(ValueError, match="base model"):
        option_scores(
            remote,
            _Prompter(),
            [{"role": "user", "content": "x"}],
            ["a", "b"],
            scoring="pmi",
            neutral=[{"role": "user", "content": "N/A"}],
        )
