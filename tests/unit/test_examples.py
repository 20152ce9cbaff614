from datetime import datetime, timezone

from doppel.config import Persona
from doppel.dataset.examples import DROP_DUPLICATE, DROP_SHORT, build_examples, split_of
from doppel.sources.records import Record, Turn

PERSONA = Persona()
OTHER = "Could you do 30% off if we sign this week? Best regards, Priya"


def email(i: int, text: str, parent: str | None = None) -> Record:
    history = (Turn("priya@client.com", parent),) if parent else ()
    return Record("emails", str(i), datetime(2026, 1, 1, tzinfo=timezone.utc), "allan@x.com", text, f"emails:{i}",
                  {"subject": f"deal {i}", "recipient": "priya@client.com"}, history)


def test_target_is_only_the_persons_words_and_others_only_in_the_prompt():
    rec = email(1, "Hey Priya,\n\n12% with an annual prepay.\n\nCheers,\nAllan\n\nOn Mon, Priya wrote:\n> " + OTHER, OTHER)
    ex = build_examples([rec], PERSONA, val_fraction=0.01).examples[0]
    assert ex.messages[-1]["role"] == "assistant"
    assert ex.target == "Hey Priya,\n\n12% with an annual prepay.\n\nCheers,\nAllan"
    assert "30% off" not in ex.target
    assert any("30% off" in m["content"] for m in ex.messages if m["role"] == "user")
    assert ex.messages[0] == {"role": "system", "content": PERSONA.system_message()}


def test_conversation_history_roles_alternate_and_person_is_assistant():
    history = (Turn("assistant", "Acme wants 30%."), Turn("Allan", "Who asked?", True), Turn("assistant", "Their CFO."),
               Turn("assistant", "Also procurement."))
    rec = Record("conversations", "9", None, "Allan", "Counter at 12%, annual prepay.", "conversations:3", {}, history)
    msgs = build_examples([rec], PERSONA).examples[0].messages
    roles = [m["role"] for m in msgs]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert msgs[3]["content"] == "Their CFO.\n\nAlso procurement."  # merged, so turns alternate
    assert msgs[-1]["content"] == "Counter at 12%, annual prepay."


def test_short_and_duplicate_records_are_dropped_with_reasons():
    records = [email(1, "ok"), email(2, "Sounds good, send it over."), email(2, "Sounds good, send it over.")]
    built = build_examples(records, PERSONA, min_chars=10)
    assert len(built.examples) == 1
    assert built.dropped[DROP_SHORT]["emails"] == 1
    assert built.dropped[DROP_DUPLICATE]["emails"] == 1
    assert sum(built.read.values()) == 3


def test_split_is_stable_as_data_grows_and_close_to_ten_percent():
    first = {f"g{i}": split_of(f"g{i}", 0.1) for i in range(2000)}
    grown = {f"g{i}": split_of(f"g{i}", 0.1) for i in range(6000)}
    assert all(grown[k] == v for k, v in first.items())
    share = sum(v == "val" for v in grown.values()) / len(grown)
    assert 0.08 < share < 0.12


def test_records_of_one_group_share_a_split():
    records = [Record("conversations", str(i), None, "Allan", f"turn number {i} here", "conversations:42") for i in range(20)]
    splits = {e.split for e in build_examples(records, PERSONA).examples}
    assert len(splits) == 1
