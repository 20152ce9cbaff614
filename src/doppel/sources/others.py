"""Texts other people wrote, from the same tables the person's records come from.

The authorship classifier of the scorecard needs a contrast class: "not the
person". The fairest one is the people around them in the same CRM (same
topics, same clients, same era), so a classifier that separates the two
has learned style rather than subject matter. Each source reads its own
table with the person's filter negated, and the texts are cleaned exactly
as the person's targets are (quotes and signatures stripped), so the
classifier cannot tell the two apart by cleaning alone.
"""

from __future__ import annotations

import random

import psycopg
from psycopg import sql

from doppel.config import ConversationSource, DealSource, EmailSource, NoteSource, Persona, TwinConfig
from doppel.db import qualified
from doppel.sources.clean import clean_email_body, clean_text
from doppel.sources.schema import check_tables
from doppel.sources.stream import stream_rows


def _newest_not_by(
    conn: psycopg.Connection,
    table: str,
    text_col: str,
    who_col: str,
    newest_col: str,
    who: str,
    *,
    like: bool,
    limit: int,
) -> list[str]:
    """The newest ``limit`` texts of one table whose author column does not match the person."""
    test = "NOT LIKE" if like else "<>"
    query = sql.SQL(
        "SELECT {text} FROM {table} WHERE {who} " + test + " %(who)s ORDER BY {newest} DESC NULLS LAST LIMIT %(limit)s"
    ).format(
        text=sql.Identifier(text_col),
        table=qualified(table),
        who=sql.Identifier(who_col),
        newest=sql.Identifier(newest_col),
    )
    return [text or "" for (text,) in stream_rows(conn, query, {"who": who, "limit": limit})]


def _emails(conn: psycopg.Connection, persona: Persona, cfg: EmailSource, limit: int) -> list[str]:
    bodies = _newest_not_by(
        conn,
        cfg.table,
        cfg.body_column,
        cfg.sender_column,
        cfg.sent_at_column,
        persona.email_pattern,
        like=True,
        limit=limit,
    )
    return [clean_email_body(body) for body in bodies]


def _conversations(conn: psycopg.Connection, persona: Persona, cfg: ConversationSource, limit: int) -> list[str]:
    # Other users' own turns (the role the person's turns have in their conversations), not the assistant's.
    query = sql.SQL(
        "SELECT m.{content} FROM {messages} AS m JOIN {conversations} AS c ON m.{conv} = c.{pk} "
        "WHERE c.{user} <> %(user_id)s AND m.{role} = %(role)s ORDER BY m.{created} DESC NULLS LAST LIMIT %(limit)s"
    ).format(
        content=sql.Identifier(cfg.content_column),
        messages=qualified(cfg.table),
        conversations=qualified(cfg.conversations_table),
        conv=sql.Identifier(cfg.conversation_id_column),
        pk=sql.Identifier(cfg.conversation_pk_column),
        user=sql.Identifier(cfg.user_id_column),
        role=sql.Identifier(cfg.role_column),
        created=sql.Identifier(cfg.created_at_column),
    )
    params = {"user_id": persona.user_id, "role": cfg.person_role, "limit": limit}
    return [clean_text(text or "") for (text,) in stream_rows(conn, query, params)]


def _deals(conn: psycopg.Connection, persona: Persona, cfg: DealSource, limit: int) -> list[str]:
    notes = _newest_not_by(
        conn,
        cfg.table,
        cfg.notes_column,
        cfg.owner_column,
        cfg.created_at_column,
        persona.email_pattern,
        like=True,
        limit=limit,
    )
    return [clean_text(text) for text in notes]


def _notes(conn: psycopg.Connection, persona: Persona, cfg: NoteSource, limit: int) -> list[str]:
    notes = _newest_not_by(
        conn,
        cfg.table,
        cfg.content_column,
        cfg.user_id_column,
        cfg.created_at_column,
        persona.user_id,
        like=False,
        limit=limit,
    )
    return [clean_text(text) for text in notes]


_READERS = {"emails": _emails, "conversations": _conversations, "deals": _deals, "notes": _notes}


def collect_others(
    conn: psycopg.Connection, twin: TwinConfig, limit: int, *, min_chars: int = 10, seed: int = 0
) -> list[str]:
    """Up to ``limit`` cleaned texts by other authors, drawn evenly-ish from every enabled source.

    Deterministic for a seed: the same database gives the same sample.
    """
    from doppel.sources import SOURCES

    per_source: dict[str, list[str]] = {}
    for name, cfg in twin.sources.enabled().items():
        check_tables(conn, SOURCES[name].table_specs(cfg))
        texts = [t for t in _READERS[name](conn, twin.persona, cfg, limit) if len(t) >= min_chars]
        # Duplicates (mass mail, templates) would teach the classifier one text many times.
        per_source[name] = list(dict.fromkeys(texts))
    rng = random.Random(seed)
    # Round-robin over sources so a huge inbox does not drown the other kinds of writing.
    pools = {name: rng.sample(texts, len(texts)) for name, texts in sorted(per_source.items())}
    picked: list[str] = []
    while len(picked) < limit and any(pools.values()):
        for name in sorted(pools):
            if pools[name] and len(picked) < limit:
                picked.append(pools[name].pop())
    return picked
