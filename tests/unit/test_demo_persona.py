"""Properties of the demo CRM generated for the persona Allan Maverick."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from doppel.demo.persona import (
    ANCHOR,
    PERSONA_EMAIL,
    PERSONA_NAME,
    PERSONA_USER_ID,
    DemoData,
    generate,
    generate_new,
)

TABLES = ("emails", "conversations", "messages", "deals", "notes")
STAGES = {"prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"}
TAGS = {"pricing", "hiring", "pipeline", "product", "ideas", "clients", "process", "coaching", "forecast", "partners"}
FAVOURITES = (
    "bottom line",
    "let's keep it simple",
    "move the needle",
    "no-brainer",
    "not a fan",
    "happy to jump on a call",
    "what's the real blocker",
)
PERCENT = re.compile(r"(\d+)\s*%")
# Where the writer's own text ends in an email: a quoted original, an Outlook block or a phone footer.
QUOTE_START = re.compile(r"^(On .* wrote:|-----Original Message-----|Sent from my iPhone)$", re.MULTILINE)


@pytest.fixture(scope="module")
def full() -> DemoData:
    return generate()


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate(11, scale=0.2)


def own_text(body: str) -> str:
    """The email's own text, without what it quotes."""
    match = QUOTE_START.search(body)
    return body[: match.start()].rstrip() if match else body.rstrip()


def allan_emails(data: DemoData) -> list[dict]:
    return [e for e in data.emails if e["sender_email"] == PERSONA_EMAIL]


def turns_by_conversation(data: DemoData) -> dict[int, list[dict]]:
    turns: dict[int, list[dict]] = defaultdict(list)
    for m in sorted(data.messages, key=lambda m: (m["created_at"], m["id"])):
        turns[m["conversation_id"]].append(m)
    return turns


def all_rows(data: DemoData):
    for table in TABLES:
        for row in getattr(data, table):
            yield table, row


# --- determinism and identity -------------------------------------------------------------------


def test_same_seed_gives_identical_data():
    assert generate(3, scale=0.2) == generate(3, scale=0.2)


def test_different_seed_gives_different_data(small):
    other = generate(12, scale=0.2)
    for table in TABLES:
        assert getattr(other, table) != getattr(small, table), table


def test_ids_are_unique_per_table(full):
    for table in TABLES:
        ids = [row["id"] for row in getattr(full, table)]
        assert len(ids) == len(set(ids)), table
        assert all(isinstance(i, int) for i in ids)


def test_rows_have_exactly_the_documented_keys(small):
    keys = {
        "emails": {"id", "subject", "body", "sent_at", "sender_email", "recipient_email", "in_reply_to"},
        "conversations": {"id", "user_id", "metadata", "created_at"},
        "messages": {"id", "conversation_id", "role", "content", "created_at"},
        "deals": {"id", "deal_name", "stage", "amount", "notes", "owner_email", "created_at"},
        "notes": {"id", "user_id", "title", "content", "tags", "created_at"},
    }
    for table, row in all_rows(small):
        assert set(row) == keys[table], table


def test_persona_constants():
    assert PERSONA_NAME == "Allan Maverick"
    assert PERSONA_EMAIL == "allan@maverick-labs.com"
    assert PERSONA_USER_ID == "allan"
    assert ANCHOR == datetime(2026, 6, 30, tzinfo=UTC)


@pytest.mark.parametrize("scale", [0, -1.0])
def test_scale_must_be_positive(scale):
    with pytest.raises(ValueError):
        generate(scale=scale)


# --- sizes ---------------------------------------------------------------------------------------


def test_counts_at_full_scale(full):
    mine = allan_emails(full)
    replies = [e for e in mine if e["in_reply_to"] is not None]
    assert 570 <= len(full.emails) <= 630
    assert 300 <= len(mine) <= 340
    assert 260 <= len(full.emails) - len(mine) <= 300
    assert 155 <= len(replies) <= 185
    assert 130 <= len(full.conversations) <= 150
    assert 100 <= sum(c["user_id"] == PERSONA_USER_ID for c in full.conversations) <= 120
    assert 25 <= sum(c["user_id"] != PERSONA_USER_ID for c in full.conversations) <= 35
    assert 800 <= len(full.messages) <= 1000
    assert 170 <= len(full.deals) <= 190
    assert 120 <= sum(d["owner_email"] == PERSONA_EMAIL for d in full.deals) <= 140
    assert 200 <= len(full.notes) <= 240
    assert 160 <= sum(n["user_id"] == PERSONA_USER_ID for n in full.notes) <= 180


def test_scale_shrinks_every_table(full, small):
    for table in TABLES:
        assert 0 < len(getattr(small, table)) < len(getattr(full, table)) / 3, table


# --- emails --------------------------------------------------------------------------------------


def test_every_reply_answers_an_earlier_email_to_allan(full):
    by_id = {e["id"]: e for e in full.emails}
    replies = [e for e in full.emails if e["in_reply_to"] is not None]
    assert replies
    for reply in replies:
        original = by_id[reply["in_reply_to"]]
        assert reply["sender_email"] == PERSONA_EMAIL
        assert original["sender_email"] != PERSONA_EMAIL
        assert original["recipient_email"] == PERSONA_EMAIL
        assert original["sent_at"] < reply["sent_at"]
        assert reply["recipient_email"] == original["sender_email"]


def test_no_one_else_matches_allans_like_pattern(full):
    others = [e["sender_email"] for e in full.emails if e["sender_email"] != PERSONA_EMAIL]
    others += [d["owner_email"] for d in full.deals if d["owner_email"] != PERSONA_EMAIL]
    others += [e["recipient_email"] for e in allan_emails(full)]
    assert others
    assert not [a for a in others if "allan" in a.lower()]
    other_users = {c["user_id"] for c in full.conversations} | {n["user_id"] for n in full.notes}
    assert not [u for u in other_users - {PERSONA_USER_ID} if "allan" in u.lower()]


def test_allan_signs_off_his_way(full):
    mine = allan_emails(full)
    signed = [e for e in mine if e["body"].rstrip().endswith(("Cheers,\nAllan", "— A"))]
    assert len(signed) / len(mine) >= 0.70
    assert all(e["body"].startswith(("Hey ", "Hi all,")) for e in mine)
    cheers = sum("Cheers,\nAllan" in own_text(e["body"]) for e in mine)
    assert cheers / len(mine) >= 0.75


def test_allan_emails_carry_real_mail_noise(full):
    mine = allan_emails(full)
    assert sum("Sent from my iPhone" in e["body"] for e in mine) >= 5
    quoting = [e for e in mine if re.search(r"^On .* wrote:$", e["body"], re.MULTILINE)]
    assert len(quoting) >= 5
    assert all(e["in_reply_to"] is not None for e in quoting)


def test_others_write_differently_and_leave_something_to_clean(full):
    others = [e for e in full.emails if e["sender_email"] != PERSONA_EMAIL]
    bodies = [e["body"] for e in others]
    assert sum(re.search(r"^On .* wrote:$", b, re.MULTILINE) is not None for b in bodies) >= 10
    assert sum("> " in b for b in bodies) >= 10
    assert sum("-----Original Message-----" in b for b in bodies) >= 10
    assert sum("\n-- \n" in b for b in bodies) >= 10
    assert sum(("Best regards" in b or "Kind regards" in b) for b in bodies) >= 50
    assert len({e["sender_email"] for e in others}) >= 20
    # Allan's pet phrases are his: others' own text never uses them.
    for body in bodies:
        text = own_text(body).lower()
        assert not any(p in text for p in ("bottom line", "no-brainer", "what's the real blocker")), body


def test_allan_email_length_is_punchy(full):
    words = [len(own_text(e["body"]).split()) for e in allan_emails(full)]
    assert max(words) <= 160
    assert sum(words) / len(words) < 80


# --- Allan's discount policy ---------------------------------------------------------------------


def percents(text: str) -> list[int]:
    return [int(p) for p in PERCENT.findall(text)]


def assert_counter_for_30(answer: str) -> None:
    """An answer to a 30% ask: a counter between 10 and 15%, nothing else above 15% but the ask."""
    values = percents(answer)
    assert any(10 <= v <= 15 for v in values), answer
    assert all(v <= 15 for v in values if v != 30), answer


def test_thirty_percent_asks_by_email_get_at_most_fifteen(full):
    by_id = {e["id"]: e for e in full.emails}
    answered = [e for e in full.emails if e["in_reply_to"] and "30%" in own_text(by_id[e["in_reply_to"]]["body"])]
    assert len(answered) >= 10
    for reply in answered:
        assert_counter_for_30(own_text(reply["body"]))


def test_thirty_percent_asks_in_chat_get_at_most_fifteen(full):
    checked = 0
    for turns in turns_by_conversation(full).values():
        for ask, answer in zip(turns, turns[1:]):
            if ask["role"] == "assistant" and "30%" in ask["content"] and answer["role"] == "user":
                assert_counter_for_30(answer["content"])
                checked += 1
    assert checked >= 3


def test_thirty_percent_in_allans_deal_and_sticky_notes(full):
    # A deal note is about one deal; a sticky note holds one rule per line.
    texts = [d["notes"] for d in full.deals if d["owner_email"] == PERSONA_EMAIL]
    texts += [line for n in full.notes if n["user_id"] == PERSONA_USER_ID for line in n["content"].splitlines()]
    with_30 = [t for t in texts if "30%" in t]
    assert with_30
    for text in with_30:
        assert all(v <= 15 for v in percents(text) if v != 30), text


def test_big_asks_are_declined_and_small_committed_asks_accepted(full):
    by_id = {e["id"]: e for e in full.emails}
    declined = accepted = 0
    for reply in (e for e in full.emails if e["in_reply_to"]):
        asked = percents(own_text(by_id[reply["in_reply_to"]]["body"]))
        answer = own_text(reply["body"])
        if not asked:
            continue
        if asked[0] >= 40:  # walk away: no counter at all
            assert set(percents(answer)) <= {asked[0]}, answer
            assert "not the cheapest" in answer or "Walk away" in answer, answer
            declined += 1
        elif asked[0] <= 10 and "In return" in by_id[reply["in_reply_to"]]["body"]:
            assert any(w in answer for w in ("works", "Yes", "Deal", "Approve", "Done")), answer
            accepted += 1
    assert declined >= 3
    assert accepted >= 1


# --- conversations -------------------------------------------------------------------------------


def test_allan_is_the_user_side_of_his_conversations(full):
    turns = turns_by_conversation(full)
    allan = [c for c in full.conversations if c["user_id"] == PERSONA_USER_ID]
    others = [c for c in full.conversations if c["user_id"] != PERSONA_USER_ID]
    assert allan and others
    openers = Counter()
    for conv in allan:
        msgs = turns[conv["id"]]
        assert 4 <= len(msgs) <= 10
        roles = [m["role"] for m in msgs]
        assert set(roles) == {"user", "assistant"}
        assert all(a != b for a, b in zip(roles, roles[1:])), roles  # turns alternate
        openers[roles[0]] += 1
        assert msgs[0]["created_at"] > conv["created_at"]
    assert openers["user"] >= 10 and openers["assistant"] >= 10


def test_other_peoples_conversations_never_involve_allan(full):
    turns = turns_by_conversation(full)
    others = [c for c in full.conversations if c["user_id"] != PERSONA_USER_ID]
    assert len({c["user_id"] for c in others}) >= 3
    for conv in others:
        assert "allan" not in conv["user_id"]
        for m in turns[conv["id"]]:
            assert "allan" not in m["content"].lower()
            assert "Cheers,\nAllan" not in m["content"]


def test_every_message_belongs_to_a_conversation(full):
    ids = {c["id"] for c in full.conversations}
    assert {m["conversation_id"] for m in full.messages} == ids
    assert {m["role"] for m in full.messages} == {"user", "assistant"}


def test_metadata_is_json(full):
    for conv in full.conversations:
        meta = json.loads(json.dumps(conv["metadata"]))
        assert meta == conv["metadata"]
        assert "topic" in meta and "channel" in meta


# --- deals and notes -----------------------------------------------------------------------------


def test_deals_are_well_formed(full):
    for deal in full.deals:
        assert deal["stage"] in STAGES
        assert isinstance(deal["amount"], int) and 5_000 <= deal["amount"] <= 400_000
        assert deal["notes"] and deal["deal_name"]
    stages = Counter(d["stage"] for d in full.deals if d["owner_email"] == PERSONA_EMAIL)
    assert set(stages) == STAGES


def test_allans_closed_deals_say_why(full):
    mine = [d for d in full.deals if d["owner_email"] == PERSONA_EMAIL]
    lost = [d["notes"] for d in mine if d["stage"] == "closed_lost"]
    won = [d["notes"] for d in mine if d["stage"] == "closed_won"]
    assert lost and won
    assert all(re.search(r"Walked away|Lost to|Went dark", n) for n in lost)
    assert sum("Walked away" in n for n in lost) >= len(lost) / 2
    assert all(re.search(r"^(Won|Closed at|Signed)", n) for n in won)


def test_notes_are_short_and_tagged(full):
    for note in full.notes:
        assert note["title"] and len(note["title"]) <= 40
        assert note["tags"] and set(note["tags"]) <= TAGS
        sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", note["content"]) if s.strip()]
        assert 1 <= len(sentences) <= 6, note["content"]
    mine = [n["content"] for n in full.notes if n["user_id"] == PERSONA_USER_ID]
    assert sum("->" in c for c in mine) >= len(mine) / 3
    assert any("no free pilots" in c for c in mine)


# --- habits and variety --------------------------------------------------------------------------


def allan_texts(data: DemoData) -> list[str]:
    allan_convs = {c["id"] for c in data.conversations if c["user_id"] == PERSONA_USER_ID}
    texts = [own_text(e["body"]) for e in allan_emails(data)]
    texts += [m["content"] for m in data.messages if m["conversation_id"] in allan_convs and m["role"] == "user"]
    texts += [d["notes"] for d in data.deals if d["owner_email"] == PERSONA_EMAIL]
    texts += [n["content"] for n in data.notes if n["user_id"] == PERSONA_USER_ID]
    return texts


def test_favourite_phrases_recur(full):
    texts = [t.lower() for t in allan_texts(full)]
    for phrase in FAVOURITES:
        assert sum(phrase in t for t in texts) >= 10, phrase


def test_allans_texts_are_varied(full):
    texts = allan_texts(full)
    assert len(set(texts)) >= 600
    assert len(set(texts)) / len(texts) >= 0.7


# --- time ----------------------------------------------------------------------------------------


def test_timestamps_are_aware_and_within_two_years_of_anchor(full):
    start = ANCHOR - timedelta(days=740)
    for table, row in all_rows(full):
        stamp = row["sent_at"] if table == "emails" else row["created_at"]
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0), table
        assert start <= stamp <= ANCHOR, table


# --- incremental batches -------------------------------------------------------------------------


def test_generate_new_is_strictly_after_since_with_offset_ids():
    batch = generate_new(since=ANCHOR, seed=5)
    assert len(batch.emails) == 10
    assert len(batch.conversations) == 3
    assert len(batch.deals) == 3
    assert len(batch.notes) == 5
    for table, row in all_rows(batch):
        stamp = row["sent_at"] if table == "emails" else row["created_at"]
        assert stamp > ANCHOR and stamp.tzinfo is not None, table
        assert row["id"] >= 1_000_000, table
    by_id = {e["id"]: e for e in batch.emails}
    replies = [e for e in batch.emails if e["in_reply_to"] is not None]
    assert replies
    for reply in replies:
        assert by_id[reply["in_reply_to"]]["sent_at"] < reply["sent_at"]
        assert by_id[reply["in_reply_to"]]["sender_email"] != PERSONA_EMAIL
    assert all(c["user_id"] == PERSONA_USER_ID for c in batch.conversations)
    assert all(d["owner_email"] == PERSONA_EMAIL for d in batch.deals)
    assert all(n["user_id"] == PERSONA_USER_ID for n in batch.notes)
    assert sum(e["sender_email"] == PERSONA_EMAIL for e in batch.emails) >= 5


def test_generate_new_is_deterministic_and_distinct_from_base(small):
    since = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    first = generate_new(since, seed=11, n_emails=6, id_offset=5_000)
    assert first == generate_new(since, seed=11, n_emails=6, id_offset=5_000)
    assert first != generate_new(since, seed=12, n_emails=6, id_offset=5_000)
    assert min(e["id"] for e in first.emails) == 5_000
    old = {e["body"] for e in small.emails}
    assert not old & {e["body"] for e in first.emails}


def test_generate_new_accepts_naive_since_as_utc_and_empty_counts():
    batch = generate_new(datetime(2026, 7, 1), seed=1, n_emails=0, n_messages_convs=0, n_deals=0, n_notes=0)
    assert batch == DemoData([], [], [], [], [])
    batch = generate_new(datetime(2026, 7, 1), seed=1, n_emails=1)
    assert batch.emails[0]["sent_at"] > datetime(2026, 7, 1, tzinfo=UTC)
