"""The person's sent emails (the seed's first query), with the email each one answers.

Seed default::

    SELECT subject, body, sent_at FROM crm_emails
    WHERE sender_email LIKE '%allan%' ORDER BY sent_at DESC LIMIT 1000

The answered email is the ``in_reply_to`` row when the table has that column;
otherwise it is looked up by thread or subject (``sources/threads.py``) in one
more query, after the person's emails (at most ``limit`` of them) are read.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from psycopg import sql

from doppel.config import EmailSource, Persona
from doppel.db import qualified
from doppel.sources.parties import Party, name_words, parse_parties, parse_party
from doppel.sources.records import Record, Turn
from doppel.sources.schema import TableSpec, check_tables
from doppel.sources.stream import stream_rows
from doppel.sources.threads import Waiting, find_parents, normalise_subject

KEY = "twins.sources.emails"


def table_specs(cfg: EmailSource) -> list[TableSpec]:
    required = {
        f"{KEY}.{name}": getattr(cfg, name)
        for name in ("id_column", "subject_column", "body_column", "sent_at_column", "sender_column")
    }
    optional = {
        f"{KEY}.{name}": getattr(cfg, name)
        for name in ("recipient_column", "in_reply_to_column", "thread_id_column")
        if getattr(cfg, name)
    }
    return [TableSpec(cfg.table, f"{KEY}.table", required, optional)]


def collect(conn: psycopg.Connection, persona: Persona, cfg: EmailSource) -> Iterator[Record]:
    present = check_tables(conn, table_specs(cfg))[cfg.table]
    col = lambda name: sql.Identifier("e", name)  # noqa: E731
    has_recipient = cfg.recipient_column in present
    has_parent = cfg.in_reply_to_column in present
    has_thread = cfg.thread_id_column in present

    parent_cols = (
        sql.SQL("{s}, {s} LIKE %(pattern)s, {subj}, {body}").format(
            s=sql.Identifier("p", cfg.sender_column),
            subj=sql.Identifier("p", cfg.subject_column),
            body=sql.Identifier("p", cfg.body_column),
        )
        if has_parent
        else sql.SQL("NULL, NULL, NULL, NULL")
    )
    parent_join = (
        sql.SQL("LEFT JOIN {t} AS p ON p.{pk} = e.{fk}").format(
            t=qualified(cfg.table), pk=sql.Identifier(cfg.id_column), fk=sql.Identifier(cfg.in_reply_to_column)
        )
        if has_parent
        else sql.SQL("")
    )
    query = sql.SQL(
        "SELECT {id}, {subject}, {body}, {sent_at}, {sender}, {recipient}, {thread}, {parent_cols} "
        "FROM {table} AS e {parent_join} "
        "WHERE {sender} LIKE %(pattern)s "
        "ORDER BY {sent_at} DESC NULLS LAST LIMIT %(limit)s"
    ).format(
        id=col(cfg.id_column),
        subject=col(cfg.subject_column),
        body=col(cfg.body_column),
        sent_at=col(cfg.sent_at_column),
        sender=col(cfg.sender_column),
        recipient=col(cfg.recipient_column) if has_recipient else sql.NULL,
        thread=sql.SQL("{}::text").format(col(cfg.thread_id_column)) if has_thread else sql.NULL,
        parent_cols=parent_cols,
        table=qualified(cfg.table),
        parent_join=parent_join,
    )
    params = {"pattern": persona.email_pattern, "limit": cfg.limit}
    # Read them all first (at most `limit`): the parents of the ones without
    # in_reply_to are then fetched in one query, not one per email.
    rows = list(stream_rows(conn, query, params))
    waiting = [
        Waiting(
            email_id=str(email_id),
            sent_at=sent_at,
            person=_person(persona, sender),
            thread=thread,
            subject_key=normalise_subject(subject),
            recipients=parse_parties(to),
        )
        for email_id, subject, _body, sent_at, sender, to, thread, *_p, p_body in rows
        if p_body is None and sent_at is not None
    ]
    found = find_parents(conn, persona, cfg, waiting, has_thread=has_thread, has_recipient=has_recipient)
    for email_id, subject, body, sent_at, sender, to, thread, p_sender, p_is_person, p_subject, p_body in rows:
        history: tuple[Turn, ...] = ()
        via = ""
        if p_body is not None:
            history = (Turn(speaker=p_sender or "", text=p_body, is_person=bool(p_is_person)),)
            via = "in_reply_to"
        elif (parent := found.get(str(email_id))) is not None:
            history = (Turn(speaker=parent.sender, text=parent.body, is_person=False),)
            p_subject, via = parent.subject, parent.via
        yield Record(
            source="emails",
            source_id=str(email_id),
            timestamp=sent_at,
            author=sender or "",
            text=body or "",
            group=_group(email_id, thread, subject),
            fields={
                "subject": subject or "",
                "recipient": to or "",
                "reply_subject": p_subject or "",
                # reply: the prompt is the email answered; header: only who it went to and
                # what about; none: nothing to ask with (the data set derives a prompt).
                "prompt_kind": "reply" if history else ("header" if subject or to else "none"),
                "reply_via": via,  # in_reply_to | thread | subject, or "" when not a reply
            },
            history=history,
        )


def _person(persona: Persona, sender: str | None) -> Party:
    """The person as the sender of one of their emails: that address, and the persona's name."""
    return Party(parse_party(sender or "").address, name_words(persona.name))


def _group(email_id: object, thread: str | None, subject: str | None) -> str:
    """The thread, so a reply and the person's other emails in it land on the same side of the split."""
    if thread is not None:
        return f"emails:thread:{thread}"
    key = normalise_subject(subject)
    return f"emails:subject:{key}" if key else f"emails:{email_id}"
