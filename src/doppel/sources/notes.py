"""The person's sticky notes (the seed's fourth query).

Seed default::

    SELECT title, content, tags, created_at FROM sticky_notes
    WHERE user_id = 'allan' ORDER BY created_at DESC LIMIT 2000
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from psycopg import sql

from doppel.config import NoteSource, Persona
from doppel.db import qualified
from doppel.sources.records import Record
from doppel.sources.schema import TableSpec, check_tables
from doppel.sources.stream import stream_rows

KEY = "twins.sources.notes"
_COLUMNS = ("id_column", "title_column", "content_column", "user_id_column", "created_at_column")


def table_specs(cfg: NoteSource) -> list[TableSpec]:
    optional = {f"{KEY}.tags_column": cfg.tags_column} if cfg.tags_column else {}
    return [TableSpec(cfg.table, f"{KEY}.table", {f"{KEY}.{n}": getattr(cfg, n) for n in _COLUMNS}, optional)]


def collect(conn: psycopg.Connection, persona: Persona, cfg: NoteSource) -> Iterator[Record]:
    present = check_tables(conn, table_specs(cfg))[cfg.table]
    tags = sql.Identifier(cfg.tags_column) if cfg.tags_column in present else sql.NULL
    query = sql.SQL(
        "SELECT {id}, {title}, {content}, {tags}, {created} FROM {table} "
        "WHERE {user_id} = %(user_id)s ORDER BY {created} DESC NULLS LAST LIMIT %(limit)s"
    ).format(
        id=sql.Identifier(cfg.id_column),
        title=sql.Identifier(cfg.title_column),
        content=sql.Identifier(cfg.content_column),
        tags=tags,
        user_id=sql.Identifier(cfg.user_id_column),
        created=sql.Identifier(cfg.created_at_column),
        table=qualified(cfg.table),
    )
    params = {"user_id": persona.user_id, "limit": cfg.limit}
    for note_id, title, content, tag_value, created_at in stream_rows(conn, query, params):
        if isinstance(tag_value, str):  # a comma-separated text column instead of text[]
            tag_value = [t.strip() for t in tag_value.split(",") if t.strip()]
        yield Record(
            source="notes",
            source_id=str(note_id),
            timestamp=created_at,
            author=persona.user_id,
            text=content or "",
            group=f"notes:{note_id}",
            fields={"title": title or "", "tags": list(tag_value or []), "prompt_kind": "header" if title else "none"},
        )
