"""The person's sent emails (the seed's first query), with the email each one answers.

Seed default::

    SELECT subject, body, sent_at FROM crm_emails
    WHERE sender_email LIKE '%allan%' ORDER BY sent_at DESC LIMIT 1000
"""

from __future__ import annotations

from typing import Iterator

import psycopg
from psycopg import sql

from doppel.config import EmailSource, Persona
from doppel.db import qualified
from doppel.sources.records import Record, Turn
from doppel.sources.schema import TableSpec, check_tables
from doppel.sources.stream import stream_rows

KEY = "twins.sources.emails"


def table_specs(cfg: EmailSource) -> list[TableSpec]:
    required = {
        f"{KEY}.{name}": getattr(cfg, name)
        for name in ("id_column", "subject_column", "body_column", "sent_at_column", "sender_column")
    }
    optional = {
        f"{KEY}.{name}": getattr(cfg, name)
        for name in ("recipient_column", "in_reply_to_column")
        if getattr(cfg, name)
    }
    return [TableSpec(cfg.table, f"{KEY}.table", required, optional)]


def collect(conn: psycopg.Connection, persona: Persona, cfg: EmailSource) -> Iterator[Record]:
    present = check_tables(conn, table_specs(cfg))[cfg.table]
    col = lambda name: sql.Identifier("e", name)  # noqa: E731
    has_recipient = cfg.recipient_column in present
    has_parent = cfg.in_reply_to_column in present

    recipient = col(cfg.recipient_column) if has_recipient else sql.NULL
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
        "SELECT {id}, {subject}, {body}, {sent_at}, {sender}, {recipient}, {parent_cols} "
        "FROM {table} AS e {parent_join} "
        "WHERE {sender} LIKE %(pattern)s "
        "ORDER BY {sent_at} DESC NULLS LAST LIMIT %(limit)s"
    ).format(
        id=col(cfg.id_column),
        subject=col(cfg.subject_column),
        body=col(cfg.body_column),
        sent_at=col(cfg.sent_at_column),
        sender=col(cfg.sender_column),
        recipient=recipient,
        parent_cols=parent_cols,
        table=qualified(cfg.table),
        parent_join=parent_join,
    )
    params = {"pattern": persona.email_pattern, "limit": cfg.limit}
    for row in stream_rows(conn, query, params):
        email_id, subject, body, sent_at, sender, to, p_sender, p_is_person, p_subject, p_body = row
        history: tuple[Turn, ...] = ()
        if p_body is not None:
            history = (Turn(speaker=p_sender or "", text=p_body, is_person=bool(p_is_person)),)
        yield Record(
            source="emails",
            source_id=str(email_id),
            timestamp=sent_at,
            author=sender or "",
            text=body or "",
            group=f"emails:{email_id}",
            fields={"subject": subject or "", "recipient": to or "", "reply_subject": p_subject or ""},
            history=history,
        )
