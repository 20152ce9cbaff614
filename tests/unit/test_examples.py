from datetime import UTC, datetime

from doppel.config import Persona
from doppel.dataset.examples import DROP_DUPLICATE, DROP_NEAR_DUPLICATE, DROP_SHORT, build_examples, split_of
from doppel.sources.records import Record, Turn

PERSONA = Persona()
OTHER = "Could you do 30% off if we sign this week? Best regards, Priya"


def email(i: int, text: str, parent: str | None = None) -> Record:
    history = (Turn("priya@client.com", parent),) if parent else ()
    return Record(
        "emails",
        str(i),
        datetime(2026, 1, 1, tzinfo=UTC),
        "allan@x.com",
        text,
        f"emails:{i}",
        {"subject": f"deal {i}", "recipient": "priya@client.com"},
        history,
    )


def test_target_is_only_the_persons_words_and_others_only_in_the_prompt():
    body = "Hey Priya,\n\n12% with an annual prepay.\n\nCheers,\nAllan\n\nOn Mon, Priya wrote:\n> " + OTHER
    rec = email(1, body, OTHER)
    ex = build_examples([rec], PERSONA, val_fraction=0.01).examples[0]
    assert ex.messages[-1]["role"] == "assistant"
    assert ex.target == "Hey Priya,\n\n12% with an annual prepay.\n\nCheers,\nAllan"
    assert "30% off" not in ex.target
    assert any("30% off" in m["content"] for m in ex.messages if m["role"] == "user")
    assert ex.messages[0] == {"role": "system", "content": PERSONA.system_message()}


def test_conversation_history_roles_alternate_and_person_is_assistant():
    history = (
        Turn("assistant", "Acme wants 30%."),
        Turn("Allan", "Who asked?", True),
        Turn("assistant", "Their CFO."),
        Turn("assistant", "Also procurement."),
    )
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
    records = [
        Record("conversations", str(i), None, "Allan", f"turn number {i} here", "conversations:42") for i in range(20)
    ]
    splits = {e.split for e in build_examples(records, PERSONA).examples}
    assert len(splits) == 1


def dated(i: int, text: str, day: int, group: str | None = None, **fields) -> Record:
    return Record(
        "emails",
        str(i),
        datetime(2026, 1, day, tzinfo=UTC),
        "allan@x.com",
        text,
        group or f"emails:{i}",
        {"subject": f"deal {i}", "recipient": "priya@client.com", **fields},
    )


def test_copies_differing_in_case_whitespace_and_prompt_are_one_example_the_newest():
    # The same email in three folders, each copy with the recipient written another way.
    records = [
        dated(1, "Send me the contract by Friday.", 3, recipient="Priya <priya@client.com>"),
        dated(2, "send me the   contract by friday.", 5, recipient="priya@client.com"),
        dated(3, "Send me the contract by Friday.\n", 4, recipient="'Priya'"),
    ]
    built = build_examples(records, PERSONA)
    assert [e.source_id for e in built.examples] == ["2"]
    assert built.dropped[DROP_DUPLICATE]["emails"] == 2


def test_near_copies_are_dropped_and_distinct_texts_kept():
    body = (
        "Thanks for the call today. As agreed we will send the revised schedule for the Alamac project, "
        "with the change orders from GE and the new payment dates, to legal before Friday so they can "
        "review it over the weekend and we can sign on Monday morning if nothing else comes up."
    )
    records = [
        dated(1, body, 2),
        dated(2, body.replace("Monday morning", "Monday"), 3),
        dated(3, "A different note entirely about the quarterly forecast and hiring two analysts.", 4),
    ]
    built = build_examples(records, PERSONA)
    assert sorted(e.source_id for e in built.examples) == ["2", "3"]
    assert built.dropped[DROP_NEAR_DUPLICATE]["emails"] == 1


def test_a_thread_never_spans_train_and_val():
    records = [
        dated(i, f"Reply number {i} in a long thread about pricing.", 1 + i % 20, group=f"emails:subject:t{i % 7}")
        for i in range(140)
    ]
    built = build_examples(records, PERSONA, val_fraction=0.3)
    sides: dict[str, set] = {}
    for record, example in zip(records, built.examples):
        sides.setdefault(record.group, set()).add(example.split)
    assert all(len(s) == 1 for s in sides.values())
    assert {"train", "val"} == set().union(*sides.values())


def test_pinned_examples_keep_their_side_and_a_copy_inherits_it():
    first = [dated(i, f"Original text number {i} about renewals and terms.", 1) for i in range(40)]
    old = build_examples(first, PERSONA, val_fraction=0.3)
    pinned = old.splits
    # Flip what the hash would say, so only pinning can explain where they land.
    flipped = {k: ("train" if v == "val" else "val") for k, v in pinned.items()}
    # A newer copy of example 0 arrives under a new key, in a group of its own.
    grown = first + [dated(100, "Original text number 0 about renewals and terms.", 9)]
    again = build_examples(grown, PERSONA, val_fraction=0.3, pinned=flipped)
    by_key = {e.key: e.split for e in again.examples}
    assert "emails:0" not in by_key and by_key["emails:100"] == flipped["emails:0"]
    assert all(by_key[k] == flipped[k] for k in flipped if k in by_key)


def test_a_group_pinned_to_both_sides_goes_to_train():
    records = [
        dated(1, "First message of the thread here.", 1, group="emails:subject:x"),
        dated(2, "Second message of the thread here.", 2, group="emails:subject:x"),
    ]
    built = build_examples(records, PERSONA, pinned={"emails:1": "val", "emails:2": "train"})
    assert {e.split for e in built.examples} == {"train"}


def test_records_without_a_prompt_get_one_derived_from_their_text():
    bare = Record(
        "emails",
        "7",
        datetime(2026, 1, 1, tzinfo=UTC),
        "allan@x.com",
        "Hi Dana,\n\nThe Alamac change orders are signed; GE confirmed the payment schedule.\n\nAllan",
        "emails:7",
        {"subject": "", "recipient": ""},
    )
    ex = build_examples([bare], PERSONA).examples[0]
    prompt = ex.messages[1]["content"]
    assert prompt.startswith("Write a short email to Dana about:")
    assert "Alamac" in prompt or "change orders" in prompt
    assert ex.meta["prompt_kind"] == "derived"
