"""The person's chat turns (the seed's second query), each with the turns before it.

Seed default::

    SELECT m.content, m.role, c.metadata FROM messages m
    JOIN conversations c ON m.conversation_id = c.id
    WHERE c.user_id = 'allan' ORDER BY m.created_at DESC LIMIT 5000

The seed's LIMIT counts messages of both sides; of those, the person's turns
(``person_role``, 'user' in the seed: it is their own conversation) become
records, and up to ``history_turns`` earlier turns of the same conversation
come along as context. The history is fetched per row by a LATERAL subquery,
so rows still stream one batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from psycopg import sql

from doppel.config import ConversationSource, Persona
from doppel.db import qualified
from doppel.sources.records import Record, Turn
from doppel.sources.schema import TableSpec, check_tables
from doppel.sources.stream import stream_rows

KEY = "twins.sources.conversations"


def table_specs(cfg: ConversationSource) -> list[TableSpec]:
    messages = {
        f"{KEY}.{name}": getattr(cfg, name)
        for name in ("id_column", "conversation_id_column", "role_column", "content_column", "created_at_column")
    }
    conversations = {f"{KEY}.{name}": getattr(cfg, name) for name in ("conversation_pk_column", "user_id_column")}
    optional = {f"{KEY}.metadata_column": cfg.metadata_column} if cfg.metadata_column else {}
    return [
        TableSpec(cfg.table, f"{KEY}.table", messages),
        TableSpec(cfg.conversations_table, f"{KEY}.conversations_table", conversations, optional),
    ]


def collect(conn: psycopg.Connection, persona: Persona, cfg: ConversationSource) -> Iterator[Record]:
    present = check_tables(conn, table_specs(cfg))
    has_metadata = cfg.metadata_column in present[cfg.conversations_table]
    m = lambda name: sql.Identifier("m", name)  # noqa: E731
    h = lambda name: sql.Identifier("h", name)  # noqa: E731
    query = sql.SQL(
        """
        WITH recent AS (
            SELECT {m_id} AS id, {m_conv} AS conversation_id, {m_role} AS role,
                   {m_content} AS content, {m_created} AS created_at, {metadata} AS metadata
            FROM {messages} AS m JOIN {conversations} AS c ON {m_conv} = c.{c_pk}
            WHERE c.{c_user} = %(user_id)s
            ORDER BY {m_created} DESC NULLS LAST LIMIT %(limit)s
        )
        SELECT r.id, r.conversation_id, r.content, r.created_at, r.metadata,
               hist.roles, hist.contents
        FROM recent AS r
        LEFT JOIN LATERAL (
            SELECT array_agg(x.role ORDER BY x.created_at, x.id) AS roles,
                   array_agg(x.content ORDER BY x.created_at, x.id) AS contents
            FROM (
                SELECT {h_role} AS role, {h_content} AS content, {h_created} AS created_at, {h_id} AS id
                FROM {messages} AS h
                WHERE {h_conv} = r.conversation_id
                  AND ({h_created}, {h_id}) < (r.created_at, r.id)
                ORDER BY {h_created} DESC, {h_id} DESC
                LIMIT %(history)s
            ) AS x
        ) AS hist ON true
        WHERE r.role = %(person_role)s
        ORDER BY r.created_at DESC NULLS LAST
        """
    ).format(
        m_id=m(cfg.id_column),
        m_conv=m(cfg.conversation_id_column),
        m_role=m(cfg.role_column),
        m_content=m(cfg.content_column),
        m_created=m(cfg.created_at_column),
        metadata=sql.Identifier("c", cfg.metadata_column) if has_metadata else sql.NULL,
        messages=qualified(cfg.table),
        conversations=qualified(cfg.conversations_table),
        c_pk=sql.Identifier(cfg.conversation_pk_column),
        c_user=sql.Identifier(cfg.user_id_column),
        h_role=h(cfg.role_column),
        h_content=h(cfg.content_column),
        h_created=h(cfg.created_at_column),
        h_id=h(cfg.id_column),
        h_conv=h(cfg.conversation_id_column),
    )
    params = {
        "user_id": persona.user_id,
        "limit": cfg.limit,
        "history": cfg.history_turns,
        "person_role": cfg.person_role,
    }
    for msg_id, conv_id, content, created_at, metadata, roles, contents in stream_rows(conn, query, params):
        history = tuple(
            Turn(
                speaker=persona.name if role == cfg.person_role else str(role),
                text=text or "",
                is_person=role == cfg.person_role,
            )
            for role, text in zip(roles or [], contents or [])
        )
        yield Record(
            source="conversations",
            source_id=str(msg_id),
            timestamp=created_at,
            author=persona.name,
            text=content or "",
            group=f"conversations:{conv_id}",
            fields={
                "metadata": metadata if isinstance(metadata, dict) else {},
                # reply: the other side spoke before this turn; none: the person opens.
                "prompt_kind": "reply" if any(not t.is_person for t in history) else "none",
            },
            history=history,
        )
