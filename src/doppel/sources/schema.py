"""Check that the tables and columns a source reads exist, before reading.

A missing table or column is the most common first-run failure against a real
CRM, so the error names the table, the column and the config key to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from doppel.db import qualified


class SourceSchemaError(ValueError):
    """A configured table or column is missing from the database."""


@dataclass(frozen=True)
class TableSpec:
    """The columns one source reads from one table, keyed by their config key."""

    table: str
    table_key: str  # config key naming the table, e.g. twins.sources.emails.table
    required: dict[str, str]  # config key -> column name
    optional: dict[str, str] = field(default_factory=dict)


def table_columns(conn: psycopg.Connection, table: str) -> set[str] | None:
    """Column names of ``table`` (resolved on the search path), or None when it does not exist."""
    regclass = qualified(table).as_string(conn)
    row = conn.execute("SELECT to_regclass(%s)::oid", (regclass,)).fetchone()
    if row is None or row[0] is None:
        return None
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped", (row[0],)
    ).fetchall()
    return {r[0] for r in rows}


def check_tables(conn: psycopg.Connection, specs: list[TableSpec]) -> dict[str, set[str]]:
    """Raise SourceSchemaError for anything missing; return the optional columns present per table."""
    present: dict[str, set[str]] = {}
    problems: list[str] = []
    for spec in specs:
        columns = table_columns(conn, spec.table)
        if columns is None:
            problems.append(f"table {spec.table!r} does not exist (set {spec.table_key} to the table to read)")
            continue
        for key, column in spec.required.items():
            if column not in columns:
                problems.append(
                    f"column {column!r} is missing from table {spec.table!r} "
                    f"(set {key} to one of: {', '.join(sorted(columns))})"
                )
        present[spec.table] = {col for col in spec.optional.values() if col in columns}
    if problems:
        raise SourceSchemaError("; ".join(problems))
    return present
