"""Collection against a real PostgreSQL loaded with the demo persona."""

import psycopg
import pytest

from doppel.config import TwinConfig
from doppel.dataset import NoUsableRecords, build_dataset
from doppel.demo.persona import PERSONA_EMAIL
from doppel.sources import SourceSchemaError, check_twin_tables, collect_twin

TWIN = TwinConfig()


def collect(url, twin=TWIN):
    with psycopg.connect(url) as conn:
        return collect_twin(conn, twin)


def test_each_source_reads_only_the_persons_rows_newest_first(demo_db):
    records = collect(demo_db)
    by = {s: [r for r in records if r.source == s] for s in ("emails", "conversations", "deals", "notes")}
    with psycopg.connect(demo_db) as conn:
        n_emails = conn.execute("SELECT count(*) FROM crm_emails WHERE sender_email LIKE '%allan%'").fetchone()[0]
        n_user_turns = conn.execute(
            "SELECT count(*) FROM messages m JOIN conversations c ON m.conversation_id = c.id "
            "WHERE c.user_id = 'allan' AND m.role = 'user'"
        ).fetchone()[0]
        n_deals = conn.execute("SELECT count(*) FROM crm_deals WHERE owner_email LIKE '%allan%'").fetchone()[0]
        n_notes = conn.execute("SELECT count(*) FROM sticky_notes WHERE user_id = 'allan'").fetchone()[0]
    assert len(by["emails"]) == n_emails and all(r.author == PERSONA_EMAIL for r in by["emails"])
    assert len(by["conversations"]) == n_user_turns
    assert len(by["deals"]) == n_deals and all(r.author == PERSONA_EMAIL for r in by["deals"])
    assert len(by["notes"]) == n_notes
    for rows in by.values():
        stamps = [r.timestamp for r in rows]
        assert stamps == sorted(stamps, reverse=True)
        assert len({r.source_id for r in rows}) == len(rows)


def test_replies_carry_the_email_they_answer(demo_db):
    emails = [r for r in collect(demo_db) if r.source == "emails"]
    replies = [r for r in emails if r.history]
    assert replies and len(replies) < len(emails)
    assert all(r.fields["reply_via"] == "in_reply_to" and r.fields["prompt_kind"] == "reply" for r in replies)
    with psycopg.connect(demo_db) as conn:
        for r in replies[:10]:
            parent = conn.execute(
                "SELECT p.body, p.sender_email FROM crm_emails e JOIN crm_emails p ON p.id = e.in_reply_to "
                "WHERE e.id = %s",
                (int(r.source_id),),
            ).fetchone()
            assert r.history[0].text == parent[0] and r.history[0].speaker == parent[1]
            assert not r.history[0].is_person


def test_conversation_turns_come_with_the_turns_before_them(demo_db):
    turns = [r for r in collect(demo_db) if r.source == "conversations"]
    with psycopg.connect(demo_db) as conn:
        for r in turns[:10]:
            conv = int(r.group.split(":")[1])
            earlier = conn.execute(
                "SELECT role, content FROM messages WHERE conversation_id = %s AND id < %s ORDER BY created_at, id",
                (conv, int(r.source_id)),
            ).fetchall()
            expected = earlier[-TWIN.sources.conversations.history_turns :]
            assert [(("user" if t.is_person else "assistant"), t.text) for t in r.history] == expected


def test_limits_are_applied(demo_db):
    twin = TwinConfig.model_validate(
        {
            "sources": {
                "emails": {"limit": 5},
                "deals": {"limit": 3},
                "notes": {"limit": 2},
                "conversations": {"limit": 10},
            }
        }
    )
    records = collect(demo_db, twin)
    count = {s: sum(r.source == s for r in records) for s in ("emails", "deals", "notes", "conversations")}
    assert count["emails"] == 5 and count["deals"] == 3 and count["notes"] == 2
    assert count["conversations"] <= 10  # 10 newest messages of both sides, of which the person's


def test_missing_table_and_column_name_the_config_key(demo_db):
    twin = TwinConfig.model_validate(
        {"sources": {"deals": {"table": "crm_opportunities"}, "emails": {"body_column": "text"}}}
    )
    with pytest.raises(SourceSchemaError) as err:
        collect(demo_db, twin)
    msg = str(err.value)
    assert "table 'crm_opportunities' does not exist" in msg and "twins.sources.deals.table" in msg
    assert "column 'text' is missing from table 'crm_emails'" in msg and "twins.sources.emails.body_column" in msg
    with psycopg.connect(demo_db) as conn:
        report = check_twin_tables(conn, twin)
    assert report["notes"] is None and report["deals"] and report["emails"]


def test_optional_context_columns_may_be_absent_and_replies_still_find_their_parent(demo_db):
    # No in_reply_to, no recipient: the parents come from the subjects, and they are the ones in_reply_to names.
    with psycopg.connect(demo_db) as conn:
        conn.execute("CREATE TABLE plain_emails AS SELECT id, subject, body, sent_at, sender_email FROM crm_emails")
        truth = dict(
            conn.execute(
                "SELECT e.id::text, p.body FROM crm_emails e JOIN crm_emails p ON p.id = e.in_reply_to"
            ).fetchall()
        )
    twin = TwinConfig.model_validate({"sources": {"emails": {"table": "plain_emails"}}})
    emails = [r for r in collect(demo_db, twin) if r.source == "emails"]
    assert emails and truth
    assert {r.source_id: r.history[0].text for r in emails if r.history} == truth
    assert all(r.fields["reply_via"] == "subject" for r in emails if r.history)


def test_no_usable_records_says_what_was_read_and_why(demo_db, tokenizer):
    twin = TwinConfig.model_validate({"persona": {"email_pattern": "%nobody%", "user_id": "nobody"}})
    with pytest.raises(NoUsableRecords, match=r"read 0 records"):
        build_dataset(collect(demo_db, twin), tokenizer, twin=twin.name, persona=twin.persona, training=twin.training)
    twin = TwinConfig.model_validate({"training": {"min_chars": 100000}})
    with pytest.raises(NoUsableRecords, match=r"shorter than min_chars: \d+"):
        build_dataset(collect(demo_db, twin), tokenizer, twin=twin.name, persona=twin.persona, training=twin.training)
