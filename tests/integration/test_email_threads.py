"""Replies find the email they answer without in_reply_to: by thread, else by subject, window and parties."""

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from doppel.config import TwinConfig
from doppel.dataset.card import make_card, render_card
from doppel.dataset.examples import build_examples
from doppel.dataset.prompts import email_heading, email_prompt
from doppel.sources import collect_twin
from doppel.sources.threads import normalise_subject, normalised_subject_sql

ME = "allan@acme.com"  # the default persona: Allan Maverick, sender LIKE '%allan%'
T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def load(url: str, rows: list[tuple], *, recipient: bool = True, thread: str | None = None) -> None:
    """A ``mail`` table without in_reply_to; rows are (id, subject, sent_at, sender, recipient, thread)."""
    columns = ["id BIGINT PRIMARY KEY", "subject TEXT", "body TEXT", "sent_at TIMESTAMPTZ", "sender_email TEXT"]
    columns += ["recipient_email TEXT"] * recipient + [f"{thread} BIGINT"] * bool(thread)
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE mail ({', '.join(columns)})")
        for id_, subject, sent_at, sender, to, thread_id in rows:
            values = [id_, subject, f"body {id_}", sent_at, sender] + [to] * recipient + [thread_id] * bool(thread)
            conn.execute(f"INSERT INTO mail VALUES ({', '.join(['%s'] * len(values))})", values)


def emails(url: str, **cfg) -> dict[str, object]:
    off = {"enabled": False}
    twin = TwinConfig.model_validate(
        {"sources": {"emails": {"table": "mail", **cfg}, "conversations": off, "deals": off, "notes": off}}
    )
    with psycopg.connect(url) as conn:
        return {r.source_id: r for r in collect_twin(conn, twin)}


def parent(record) -> str | None:
    return record.history[0].text if record.history else None


def test_a_thread_id_names_the_latest_earlier_email_by_someone_else(database_url):
    load(
        database_url,
        [
            (1, "Pricing", at(0), "ann@x.com", ME, 7),
            (2, "Re: Pricing", at(1), "bob@y.com", ME, 7),
            (3, "RE: Pricing", at(2), ME, "bob@y.com", 7),  # answers 2, not 1
            (4, "Re: Pricing", at(3), "carl@z.com", ME, 7),
            (5, "RE: Pricing", at(4), ME, "carl@z.com", 7),  # answers 4, written after 3
            (6, "RE: Pricing", at(5), ME, "carl@z.com", 7),  # still 4: 5 is his own
            (7, "Pricing", at(0.5), "dee@q.com", ME, 8),
            (8, "RE: Pricing", at(6), ME, "dee@q.com", 9),  # alone in its thread: the subject is not consulted
            (9, "RE: Pricing", at(3.5), ME, "carl@z.com", None),  # no thread: found by subject
        ],
        thread="conversation",
    )
    got = emails(database_url, thread_id_column="conversation")
    assert [parent(got[i]) for i in "3568"] == ["body 2", "body 4", "body 4", None]
    assert [got[i].fields["reply_via"] for i in "356"] == ["thread"] * 3
    assert got["8"].fields["prompt_kind"] == "header" and got["8"].fields["reply_via"] == ""
    assert parent(got["9"]) == "body 4" and got["9"].fields["reply_via"] == "subject"
    assert got["3"].history[0].speaker == "bob@y.com" and not got["3"].history[0].is_person
    assert got["3"].fields["reply_subject"] == "Re: Pricing"
    # The thread is the group, so the split keeps a thread on one side.
    assert {got[i].group for i in "356"} == {"emails:thread:7"} and got["9"].group == "emails:subject:pricing"


def test_subjects_match_without_prefixes_within_the_window_latest_first(database_url):
    load(
        database_url,
        [
            (1, "Budget", at(0), "ann@x.com", ME, None),
            (2, "budget", at(5), "bob@y.com", ME, None),
            (3, "AW: Fwd:  BUDGET", at(10), ME, "bob@y.com", None),  # answers 2, the latest before it
            (4, "Budget", at(11), "carl@z.com", ME, None),  # after the reply: never its parent
            (5, "Offsite", at(0), "ann@x.com", ME, None),
            (6, "Re: offsite", at(40), ME, "ann@x.com", None),  # 40 days later: outside the default 30
            (7, "", at(0), "ann@x.com", ME, None),
            (8, "RE:", at(1), ME, "ann@x.com", None),  # nothing left of the subject: no guessing
        ],
    )
    got = emails(database_url)
    assert [parent(got[i]) for i in "368"] == ["body 2", None, None]
    assert got["3"].fields["prompt_kind"] == "reply" and got["6"].fields["prompt_kind"] == "header"
    assert got["8"].group == "emails:8"
    assert parent(emails(database_url, reply_window_days=60)["6"]) == "body 5"


def test_the_parent_went_to_the_person_or_came_from_whom_the_reply_goes_to(database_url):
    load(
        database_url,
        [
            (1, "Roadmap", at(0), "ann.smith@x.com", "team@x.com", None),
            (2, "RE: Roadmap", at(1), ME, "Smith, Ann", None),  # back to its sender, by name
            (3, "Hiring", at(0), "bo@y.com", "team@x.com", None),
            (4, "RE: Hiring", at(1), ME, "carl@z.com", None),  # neither to him nor back to bo
            (5, "Invoice", at(0), "dee@q.com", "Maverick  Allan <Allan Maverick/HQ@ACME>, x@q.com", None),
            (6, "RE: Invoice", at(1), ME, "accounts@q.com", None),  # it went to him, by display name
            (7, "Gift", at(0), "eve@q.com", "Allan Maverick <allan.m@home.net>", None),
            (8, "RE: Gift", at(1), ME, "frank@z.com", None),  # another Allan Maverick's address
        ],
    )
    got = emails(database_url)
    assert [parent(got[i]) for i in "2468"] == ["body 1", None, "body 5", None]


def test_the_persons_own_mail_is_never_the_parent(database_url):
    # No recipient column: only the sender tells, and his other display name is still him.
    load(
        database_url,
        [
            (1, "Launch", at(0), "Allan Maverick <Allan Maverick/HQ@ACME>", None, None),
            (2, "Launch", at(0.5), "Maverick <Maverick>", None, None),
            (3, "RE: Launch", at(1), ME, None, None),
            (4, "Launch", at(2), "ann@x.com", None, None),
            (5, "RE: Launch", at(3), ME, None, None),
        ],
        recipient=False,
    )
    got = emails(database_url)
    assert parent(got["3"]) is None and parent(got["5"]) == "body 4"


def test_without_a_parent_the_prompt_is_the_header_or_nothing(database_url):
    load(
        database_url,
        [
            (1, "RE: Quarterly numbers", at(1), ME, "ann@x.com", None),
            (2, "", at(2), ME, None, None),
        ],
    )
    got = emails(database_url)
    assert got["1"].fields["prompt_kind"] == "header" and not got["1"].history
    # A header alone answers nothing: the data set writes the instruction from the header and the text.
    assert email_prompt(got["1"]) is None
    assert email_heading(got["1"]) == {"to": "ann@x.com", "subject": "RE: Quarterly numbers"}
    assert got["2"].fields["prompt_kind"] == "none"


def test_the_card_counts_real_replies_per_source(database_url):
    load(
        database_url,
        [
            (1, "Budget", at(0), "ann@x.com", ME, None),
            (2, "RE: Budget", at(1), ME, "ann@x.com", None),
            (3, "Offsite", at(2), ME, "ann@x.com", None),
        ],
    )
    records = list(emails(database_url).values())
    built = build_examples(records, TwinConfig().persona, min_chars=1, val_fraction=0.0)
    card = make_card(built, [], [], twin="t", max_length=64, tokenizer_name="none")
    assert card["per_source"]["emails"]["replies"] == 1 and card["per_source"]["emails"]["train"] == 2
    assert "| emails | 2 | 2 | 0 | 1 |" in render_card(card)


def test_the_sql_normaliser_is_the_python_one(database_url):
    subjects = [
        "RE: Pricing",
        "re:re: FW:x",
        " Fwd : AW:WG: SV: Antw:  a\\tb ",
        "Pricing: RE: Q3",
        "Rebate",
        "RE:",
        "",
        "Ré: Crème  Brûlée",
        "RE:\n  Two\nlines",
    ]
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE s (subject TEXT)")
        conn.cursor().executemany("INSERT INTO s VALUES (%s)", [(s,) for s in subjects] + [(None,)])
        query = sql.SQL("SELECT subject, {} FROM s").format(normalised_subject_sql(sql.Identifier("subject")))
        pairs = conn.execute(query).fetchall()
    assert pairs == [(s, normalise_subject(s)) for s in [*subjects, None]]
