"""Sources: one module per kind of record; the seed's four queries are their defaults."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import psycopg

from doppel.config import TwinConfig
from doppel.db import Database
from doppel.sources import conversations, deals, emails, notes
from doppel.sources.records import Record, Turn
from doppel.sources.schema import SourceSchemaError, check_tables

# Shown when tables are missing: on a fresh embedded database that is expected.
EMBEDDED_HINT = "On the embedded database, `doppel demo` creates and fills the seed's tables with the demo persona."

SOURCES = {
    "emails": emails,
    "conversations": conversations,
    "deals": deals,
    "notes": notes,
}

__all__ = [
    "Record",
    "Turn",
    "SOURCES",
    "SourceSchemaError",
    "collect_twin",
    "iter_twin",
    "check_twin_tables",
    "read_records",
]


def check_twin_tables(conn: psycopg.Connection, twin: TwinConfig) -> dict[str, str | None]:
    """Per enabled source: None when its tables and columns are all there, else the problem."""
    report: dict[str, str | None] = {}
    for name, cfg in twin.sources.enabled().items():
        try:
            check_tables(conn, SOURCES[name].table_specs(cfg))
            report[name] = None
        except SourceSchemaError as exc:
            report[name] = str(exc)
        finally:
            conn.rollback()  # a failed lookup must not poison the next one
    return report


def iter_twin(conn: psycopg.Connection, twin: TwinConfig) -> Iterator[Record]:
    """All the person's records from every enabled source, streamed source by source."""
    problems = {name: p for name, p in check_twin_tables(conn, twin).items() if p}
    if problems:
        detail = "\n".join(f"  {name}: {p}" for name, p in problems.items())
        raise SourceSchemaError(
            f"twin {twin.name!r} cannot read its sources:\n{detail}\n"
            "(fix the [twins.sources.*] keys in the config, or set enabled = false for a source)"
            + (f"\n{EMBEDDED_HINT}" if any("does not exist" in p for p in problems.values()) else "")
        )
    for name, cfg in twin.sources.enabled().items():
        yield from SOURCES[name].collect(conn, twin.persona, cfg)


def collect_twin(
    conn: psycopg.Connection, twin: TwinConfig, on_record: Callable[[Record], None] | None = None
) -> list[Record]:
    records: list[Record] = []
    for record in iter_twin(conn, twin):
        records.append(record)
        if on_record is not None:
            on_record(record)
    return records


def count_by_source(records: list[Record]) -> dict[str, int]:
    return dict(Counter(r.source for r in records))


def read_records(db: Database, twin: TwinConfig, on_record: Callable[[Record], None] | None = None) -> list[Record]:
    """Every record of the twin's enabled sources, on one connection of ``db``."""
    with db.crm.connection() as conn:
        return collect_twin(conn, twin, on_record=on_record)
