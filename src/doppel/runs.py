"""The ``doppel.runs`` table: one row per training run, whatever started it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from doppel.db import SCHEMA, Database


@dataclass(frozen=True)
class Run:
    id: int
    twin: str
    mode: str
    state: str
    started_at: datetime
    finished_at: datetime | None
    version: str | None
    params: dict
    metrics: dict
    error: str | None


def start_run(db: Database, twin: str, mode: str, params: dict) -> int:
    with db.connection() as conn:
        row = conn.execute(
            f"INSERT INTO {SCHEMA}.runs (twin, mode, state, params) VALUES (%s, %s, 'running', %s) RETURNING id",
            (twin, mode, Jsonb(params)),
        ).fetchone()
    return int(row[0])


def finish_run(
    db: Database, run_id: int, state: str, *, version: str | None = None, metrics: dict | None = None,
    error: str | None = None,
) -> None:
    with db.connection() as conn:
        conn.execute(
            f"UPDATE {SCHEMA}.runs SET state = %s, finished_at = now(), version = %s, "
            f"metrics = %s, error = %s WHERE id = %s",
            (state, version, Jsonb(metrics or {}), error, run_id),
        )


def list_runs(db: Database, twin: str | None = None, limit: int = 50) -> list[Run]:
    with db.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT * FROM {SCHEMA}.runs WHERE %(twin)s::text IS NULL OR twin = %(twin)s "
            f"ORDER BY started_at DESC, id DESC LIMIT %(limit)s",
            {"twin": twin, "limit": limit},
        )
        return [Run(**row) for row in cur.fetchall()]
