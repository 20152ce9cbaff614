"""Read query results with a server-side cursor, so memory stays flat however big the table."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

_cursor_ids = itertools.count()


def stream_rows(
    conn: psycopg.Connection, query: sql.Composable, params: dict[str, Any], *, batch: int = 500
) -> Iterator[tuple]:
    """Yield rows of ``query`` fetched ``batch`` at a time from a named (server-side) cursor."""
    with conn.cursor(name=f"doppel_stream_{next(_cursor_ids)}") as cur:
        cur.itersize = batch
        cur.execute(query, params)
        yield from cur
