import pytest

from doppel.config import DealOutcomes, EvaluationConfig, Persona
from doppel.dataset.examples import split_of
from doppel.evaluation.scenarios import (
    ScenarioError,
    configured_sets,
    deal_scenarios,
    load_scenario_file,
    parse_scenarios,
)
from doppel.sources.records import Record

YAML = """
scenarios:
  - id: big-ask
    context: {client: Acme, question: "They want 40% off. What do you do?"}
    options: [Accept, Counter at 12%, Decline]
    choice: decline
  - context: A prospect wants a free pilot.
    options: [Give it, Paid pilot]
    choice: Paid pilot
"""


def test_yaml_scenarios_parse_with_choice_matched_to_its_option():
    first, second = parse_scenarios(YAML, "s.yaml")
    assert first.id == "big-ask" and first.choice == "Decline" and first.context["client"] == "Acme"
    assert second.id == "2" and second.options == ["Give it", "Paid pilot"]


def test_jsonl_scenarios_parse(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"id": "a", "context": "x", "options": ["A", "B"], "choice": "B"}\n\n'
        '{"id": "b", "context": {"k": 1}, "options": ["A", "B", "C"], "choice": "A"}\n'
    )
    loaded = load_scenario_file(path)
    assert [s.id for s in loaded.scenarios] == ["a", "b"] and loaded.source == str(path)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("scenarios:\n  - {context: x, options: [A, B], choice: C}", "choice 'C' is not one of its options"),
        ("scenarios:\n  - {context: x, options: [A], choice: A}", "options"),
        ("scenarios:\n  - {context: x, options: [A, a], choice: A}", "given twice"),
        ("scenarios:\n  - {options: [A, B], choice: A}", "has no context"),
        (
            "scenarios:\n  - {id: q, context: x, options: [A, B], choice: A}"
            "\n  - {id: q, context: y, options: [A, B], choice: B}",
            "ids repeat",
        ),
        ("just text", "expected a 'scenarios:' list"),
    ],
)
def test_bad_scenarios_name_the_file_scenario_and_field(text, fragment):
    with pytest.raises(ScenarioError, match="bad.yaml") as err:
        parse_scenarios(text, "bad.yaml")
    assert fragment in str(err.value)


def test_missing_scenario_file_names_the_config_key(tmp_path):
    with pytest.raises(ScenarioError, match="twins.evaluation.scenarios"):
        configured_sets(EvaluationConfig(scenarios=[tmp_path / "nope.yaml"]), Persona())


def test_demo_persona_gets_its_scenarios_and_others_get_none():
    demo = configured_sets(EvaluationConfig(), Persona())
    assert len(demo) == 1 and len(demo[0].scenarios) >= 30
    assert configured_sets(EvaluationConfig(), Persona(name="Bill Rapp", email_pattern="%rapp%")) == []


def _deal(i: int, stage: str) -> Record:
    return Record(
        source="deals",
        source_id=str(i),
        timestamp=None,
        author="a",
        text="notes",
        group=f"deals:{i}",
        fields={"deal_name": f"Deal {i}", "deal_stage": stage, "deal_amount": 1000 * i},
    )


def test_deal_scenarios_use_only_held_out_closed_deals():
    records = [_deal(i, stage) for i in range(300) for stage in [("closed_won", "closed_lost", "proposal")[i % 3]]]
    derived = deal_scenarios(records, DealOutcomes(), val_fraction=0.1)
    held_out = {
        r.source_id for r in records if split_of(r.group, 0.1) == "val" and r.fields["deal_stage"] != "proposal"
    }
    assert {s.id.removeprefix("deal-") for s in derived.scenarios} == held_out and held_out
    for s in derived.scenarios:
        i = int(s.id.removeprefix("deal-"))
        assert s.choice == ("Won" if i % 3 == 0 else "Lost")
        # The stage (the answer) is never part of what the twin is shown.
        assert "closed_" not in str(s.context) and "won" not in str(s.context).lower()
