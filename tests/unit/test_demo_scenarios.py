"""The decision scenarios and personality probes shipped for the demo persona Allan Maverick."""

from __future__ import annotations

import re
from collections import Counter
from importlib.resources import files

import pytest
import yaml

KINDS = {"discount", "pilot", "procurement", "exclusivity", "dark", "other"}
FIELDS = {"id", "kind", "ask_percent", "context", "options", "choice"}
PERCENT = re.compile(r"(\d+)\s*%")
# How an option that grants the client's ask begins.
ACCEPT = re.compile(r"^(accept|agree|approve|give|grant|match|yes)\b", re.IGNORECASE)
CEILING = 15  # Allan's discount ceiling, in percent


def _load(name: str) -> dict:
    return yaml.safe_load((files("doppel.demo") / name).read_text(encoding="utf-8"))


SCENARIOS: list[dict] = _load("scenarios.yaml")["scenarios"]
DISCOUNTS = [s for s in SCENARIOS if s.get("kind") == "discount"]


def _context_text(context: str | dict) -> str:
    if isinstance(context, str):
        return context
    return "\n".join(f"{key}: {value}" for key, value in context.items())


def _ids(scenarios: list[dict]) -> list[str]:
    return [s["id"] for s in scenarios]


def test_there_are_enough_scenarios_with_unique_ids():
    assert len(SCENARIOS) >= 30
    ids = _ids(SCENARIOS)
    assert all(isinstance(i, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_ids(SCENARIOS))
def test_a_scenario_is_well_formed(scenario):
    assert set(scenario) <= FIELDS and {"id", "context", "options", "choice"} <= set(scenario)
    context = scenario["context"]
    assert isinstance(context, (str, dict)) and context
    if isinstance(context, dict):
        assert all(isinstance(k, str) and v not in (None, "") for k, v in context.items())
    else:
        assert context.strip()
    options = scenario["options"]
    assert isinstance(options, list) and 2 <= len(options) <= 4
    assert all(isinstance(o, str) and o.strip() == o and o for o in options)
    assert len({o.casefold() for o in options}) == len(options)
    assert scenario["choice"] in options
    if "kind" in scenario:
        assert scenario["kind"] in KINDS
    if "ask_percent" in scenario:
        assert scenario.get("kind") == "discount"


def test_the_right_answer_is_not_always_in_the_same_place():
    where = Counter(s["options"].index(s["choice"]) for s in SCENARIOS)
    assert len(where) >= 2
    assert max(where.values()) <= 0.6 * len(SCENARIOS), where


def _chance() -> float:
    return sum(1 / len(s["options"]) for s in SCENARIOS) / len(SCENARIOS)


def _picker_accuracy(value) -> float:
    from doppel.evaluation.baselines import tie_share

    picks = [tie_share([value(o) for o in s["options"]], s["options"].index(s["choice"])) for s in SCENARIOS]
    return sum(picks) / len(picks)


def test_option_length_says_nothing_about_the_answer():
    # The first scenarios gave the person's choice the longest wording in 25 of 36: "pick the longest" beat the
    # twin. Now neither the longest nor the shortest option (in characters or in words) beats chance.
    chance = _chance()
    for length in (len, lambda o: len(o.split())):
        assert _picker_accuracy(length) <= chance
        assert _picker_accuracy(lambda o, length=length: -length(o)) <= chance


def test_sounding_like_allan_is_not_enough():
    # Wrong options use his words too ("prepay", "pilot", "commit", "a date"), so picking the option whose words
    # he writes most often, without reading the situation, does no better than chance. (At chance + 0.1 the
    # overlap picker matched him on 15 of 36 with the scorecard's training split, one more than the twin.)
    from doppel.demo.persona import PERSONA_EMAIL, PERSONA_USER_ID, generate
    from doppel.evaluation.baselines import OverlapPicker

    data = generate()
    mine = {c["id"] for c in data.conversations if c["user_id"] == PERSONA_USER_ID}
    texts = [e["body"] for e in data.emails if e["sender_email"] == PERSONA_EMAIL]
    texts += [m["content"] for m in data.messages if m["conversation_id"] in mine and m["role"] == "assistant"]
    texts += [d["notes"] for d in data.deals if d["owner_email"] == PERSONA_EMAIL]
    texts += [n["content"] for n in data.notes if n["user_id"] == PERSONA_USER_ID]
    overlap = OverlapPicker(texts)
    assert _picker_accuracy(overlap.score) <= _chance()


def test_every_kind_is_covered_and_discounts_lead():
    kinds = Counter(s.get("kind", "other") for s in SCENARIOS)
    assert set(kinds) == KINDS
    assert kinds["discount"] == max(kinds.values())


@pytest.mark.parametrize("scenario", DISCOUNTS, ids=_ids(DISCOUNTS))
def test_a_discount_scenario_names_its_ask(scenario):
    ask = scenario["ask_percent"]
    assert isinstance(ask, int) and 0 < ask < 100
    assert ask in {int(p) for p in PERCENT.findall(_context_text(scenario["context"]))}


@pytest.mark.parametrize("scenario", DISCOUNTS, ids=_ids(DISCOUNTS))
def test_a_discount_choice_stays_under_the_ceiling(scenario):
    assert all(int(p) <= CEILING for p in PERCENT.findall(scenario["choice"]))


def test_a_big_ask_is_never_accepted():
    big = [s for s in DISCOUNTS if s["ask_percent"] >= 40]
    assert big, "no discount scenario asks for 40% or more"
    for s in big:
        assert not ACCEPT.match(s["choice"]), s["id"]
        assert str(s["ask_percent"]) not in PERCENT.findall(s["choice"]), s["id"]
        # ... and the scenario does offer a way to say yes, so the test means something
        assert any(ACCEPT.match(o) for o in s["options"] if o != s["choice"]), s["id"]


def test_probes_are_unique_questions():
    probes = _load("probes.yaml")["probes"]
    assert isinstance(probes, list) and probes
    assert all(isinstance(p, str) and p.strip() for p in probes)
    assert len({p.strip().casefold() for p in probes}) == len(probes)
