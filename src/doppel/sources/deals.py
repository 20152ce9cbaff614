"""The person's deals (the seed's third query): the notes are the person's words.

Seed default::

    SELECT deal_name, stage, amount, notes FROM crm_deals
    WHERE owner_email LIKE '%allan%' ORDER BY created_at DESC LIMIT 500
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from psycopg import sql

from doppel.config import DealSource, Persona
from doppel.db import qualified
from doppel.sources.records import Record
from doppel.sources.schema import TableSpec, check_tables
from doppel.sources.stream import stream_rows

KEY = "twins.sources.deals"
_COLUMNS = (
    "id_column",
    "name_column",
    "stage_column",
    "amount_column",
    "notes_column",
    "owner_column",
    "created_at_column",
)


def table_specs(cfg: DealSource) -> list[TableSpec]:
    return [TableSpec(cfg.table, f"{KEY}.table", {f"{KEY}.{n}": getattr(cfg, n) for n in _COLUMNS})]


def collect(conn: psycopg.Connection, persona: Persona, cfg: DealSource) -> Iterator[Record]:
    check_tables(conn, table_specs(cfg))
    query = sql.SQL(
        "SELECT {id}, {name}, {stage}, {amount}, {notes}, {owner}, {created} FROM {table} "
        "WHERE {owner} LIKE %(pattern)s ORDER BY {created} DESC NULLS LAST LIMIT %(limit)s"
    ).format(
        id=sql.Identifier(cfg.id_column),
        name=sql.Identifier(cfg.name_column),
        stage=sql.Identifier(cfg.stage_column),
        amount=sql.Identifier(cfg.amount_column),
        notes=sql.Identifier(cfg.notes_column),
        owner=sql.Identifier(cfg.owner_column),
        created=sql.Identifier(cfg.created_at_column),
        table=qualified(cfg.table),
    )
    params = {"pattern": persona.email_pattern, "limit": cfg.limit}
    for deal_id, name, stage, amount, notes, owner, created_at in stream_rows(conn, query, params):
        yield Record(
            source="deals",
            source_id=str(deal_id),
            timestamp=created_at,
            author=owner or "",
            text=notes or "",
            group=f"deals:{deal_id}",
            fields={
                "deal_name": name or "",
                "deal_stage": stage or "",
                "deal_amount": amount,
                "prompt_kind": "fields",
            },  # the prompt is the deal's own fields
        )
