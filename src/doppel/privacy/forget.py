"""Forget requests: "leave out everything from ann@x.com", kept in the ``doppel`` schema and honoured by every run.

A request names an email address, a name, one record's key, or a phrase. From the moment it is filed,
records matching it are left out of every data set (``Forgetting.keep``). The records it matched when it
was filed are stored by key, so the versions already trained on them can be marked: every face lists
them as holding forgotten data, and export refuses them without ``--force``. The next full retrain makes
a version without them.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

import psycopg

from doppel.config import Settings
from doppel.dataset import read_splits
from doppel.db import SCHEMA, Database
from doppel.registry import Registry
from doppel.retrieval.store import RecordIndex
from doppel.sources.parties import parse_parties, parse_party
from doppel.sources.records import Record

log = logging.getLogger(__name__)

ForgetKind = Literal["email", "name", "record", "contains"]
FORGET_KINDS: tuple[str, ...] = get_args(ForgetKind)
_ADDRESS = re.compile(r"^[\w.+'-]+@[\w-]+(?:\.[\w-]+)+$")
MAX_VALUE_CHARS = 500


class ForgetError(ValueError):
    """A request that cannot be filed; the message names the field."""


def check_request(kind: str, value: str) -> str:
    """The value, trimmed, or a ForgetError saying what is wrong with it (the faces turn that into a 4xx)."""
    if kind not in FORGET_KINDS:
        raise ForgetError(f"kind: must be one of {', '.join(FORGET_KINDS)}")
    value = (value or "").strip()
    if not value:
        raise ForgetError(f"{kind}: must not be empty")
    if len(value) > MAX_VALUE_CHARS:
        raise ForgetError(f"{kind}: at most {MAX_VALUE_CHARS} characters")
    if "\x00" in value:
        raise ForgetError(f"{kind}: must not contain NUL characters")
    if kind == "email" and not _ADDRESS.match(value):
        raise ForgetError(f"email: {value!r} is not an email address")
    if kind == "record" and not re.match(r"^[a-z_]+:.+$", value):
        raise ForgetError(f"record: {value!r} is not a record key (source:id, such as emails:1234)")
    if kind == "contains" and len(value) < 3:
        # One or two letters would match nearly every record: almost certainly a slip.
        raise ForgetError("contains: give at least 3 characters")
    if kind == "name" and not re.search(r"[^\W\d_]{2,}", value):
        raise ForgetError("name: give a name (letters)")
    return value


@dataclass(frozen=True)
class ForgetRequest:
    kind: ForgetKind
    value: str
    twin: str | None = None  # None: every twin
    id: int | None = None
    requested_by: str = ""
    created_at: datetime | None = None

    def applies_to(self, twin: str) -> bool:
        return self.twin is None or self.twin == twin

    def matches(self, record: Record) -> bool:
        return _MATCHERS[self.kind](self, record)

    def public(self) -> dict:
        """What the faces show. The value is shown: the people who may file requests may read them."""
        return {
            "id": self.id,
            "twin": self.twin,
            "kind": self.kind,
            "value": self.value,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def _texts(record: Record) -> Iterable[str]:
    """Everything a record could put into a data set: the person's words, what they answered, the fields."""
    yield record.text
    for turn in record.history:
        yield turn.speaker
        yield turn.text
    for value in record.fields.values():
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from (v for v in value.values() if isinstance(v, str))
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))


def _match_email(request: ForgetRequest, record: Record) -> bool:
    wanted = request.value.lower()
    parties = [record.author, str(record.fields.get("recipient") or ""), *(t.speaker for t in record.history)]
    if any(p.address == wanted for field_ in parties for p in parse_parties(field_)):
        return True
    return any(wanted in text.lower() for text in _texts(record) if text)


def _name_pattern(name: str) -> re.Pattern:
    words = re.findall(r"[^\W\d_]+", name)
    # "Ann Smith" also as "Smith, Ann" and "Smith Ann", the ways mail systems write it; any spacing.
    orders = {" ".join(words), " ".join(reversed(words))} if len(words) == 2 else {" ".join(words)}
    alternatives = "|".join(r"[\s,]+".join(re.escape(w) for w in order.split()) for order in orders)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _match_name(request: ForgetRequest, record: Record) -> bool:
    pattern = _name_pattern(request.value)
    if any(pattern.search(text) for text in _texts(record) if text):
        return True
    wanted = parse_party(request.value).name
    parties = [record.author, str(record.fields.get("recipient") or ""), *(t.speaker for t in record.history)]
    return bool(wanted) and any(p.name == wanted for field_ in parties for p in parse_parties(field_))


def _match_record(request: ForgetRequest, record: Record) -> bool:
    return request.value == record.key


def _match_contains(request: ForgetRequest, record: Record) -> bool:
    wanted = request.value.casefold()
    return any(wanted in text.casefold() for text in _texts(record) if text)


_MATCHERS = {"email": _match_email, "name": _match_name, "record": _match_record, "contains": _match_contains}


@dataclass
class Forgetting:
    """The requests that apply to one twin, and what they left out of this run's records."""

    requests: Sequence[ForgetRequest]
    left_out: Counter = field(default_factory=Counter)  # per source

    def keep(self, records: Iterable[Record]) -> list[Record]:
        kept = []
        for record in records:
            if any(r.matches(record) for r in self.requests):
                self.left_out[record.source] += 1
            else:
                kept.append(record)
        return kept

    def summary(self) -> dict:
        return {"requests": len(self.requests), "records_left_out": dict(sorted(self.left_out.items()))}


# --- storage -----------------------------------------------------------------------------------------


def list_requests(db: Database, twin: str | None = None) -> list[ForgetRequest]:
    """Every request (for ``twin``: those naming it or every twin), oldest first."""
    db.ensure_schema()
    query = (
        f"SELECT id, twin, kind, value, requested_by, created_at FROM {SCHEMA}.forget_requests "
        "WHERE %(twin)s::text IS NULL OR twin IS NULL OR twin = %(twin)s ORDER BY id"
    )
    with db.connection() as conn:
        rows = conn.execute(query, {"twin": twin}).fetchall()
    return [ForgetRequest(id=i, twin=t, kind=k, value=v, requested_by=by, created_at=at) for i, t, k, v, by, at in rows]


@dataclass
class FiledRequest:
    request: ForgetRequest
    matched: dict[str, int]  # twin -> records matched now
    marked: dict[str, list[str]]  # twin -> versions that hold them
    unindexed: dict[str, int] = field(default_factory=dict)  # twin -> rows deleted from the retrieval index

    def public(self) -> dict:
        return {
            "request": self.request.public(),
            "matched": self.matched,
            "versions_marked": self.marked,
            "removed_from_index": self.unindexed,
        }


def file_request(
    db: Database,
    registry: Registry,
    request: ForgetRequest,
    records_of: dict[str, Sequence[Record]],
) -> FiledRequest:
    """Store the request and the keys of the records it matches now (``records_of``: twin -> its records),
    then mark the versions trained on them."""
    check_request(request.kind, request.value)
    db.ensure_schema()
    with db.connection() as conn:
        (request_id, created_at) = conn.execute(
            f"INSERT INTO {SCHEMA}.forget_requests (twin, kind, value, requested_by) "
            "VALUES (%s, %s, %s, %s) RETURNING id, created_at",
            (request.twin, request.kind, request.value, request.requested_by),
        ).fetchone()
        stored = ForgetRequest(
            id=request_id,
            twin=request.twin,
            kind=request.kind,
            value=request.value,
            requested_by=request.requested_by,
            created_at=created_at,
        )
        matched: dict[str, list[str]] = {}
        for twin, records in records_of.items():
            matched[twin] = sorted({r.key for r in records if stored.matches(r)})
            _store_keys(conn, request_id, twin, matched[twin])
    # Out of the retrieval index at once: no answer may rest on them from now on, retrain or not.
    index = RecordIndex(db)
    unindexed = {twin: index.delete(twin, keys) for twin, keys in matched.items()}
    marked = {twin: refresh_marks(db, registry, twin) for twin in records_of}
    counts = {twin: len(keys) for twin, keys in matched.items()}
    log.info("forget request %s filed (%s): %s", request_id, request.kind, counts)
    return FiledRequest(stored, counts, marked, unindexed)


def _store_keys(conn: psycopg.Connection, request_id: int, twin: str, keys: list[str]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {SCHEMA}.forgotten_records (request_id, twin, record_key) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            [(request_id, twin, key) for key in keys],
        )


def forgotten_keys(db: Database, twin: str) -> dict[str, list[int]]:
    """Record key -> the requests that matched it when they were filed."""
    db.ensure_schema()
    with db.connection() as conn:
        rows = conn.execute(
            f"SELECT record_key, request_id FROM {SCHEMA}.forgotten_records WHERE twin = %s ORDER BY request_id",
            (twin,),
        ).fetchall()
    keys: dict[str, list[int]] = {}
    for key, request_id in rows:
        keys.setdefault(key, []).append(request_id)
    return keys


def refresh_marks(db: Database, registry: Registry, twin: str) -> list[str]:
    """Mark every version whose data set held a forgotten record (its ``splits.json`` names the keys);
    returns the marked versions' names. Called when a request is filed and after every new version."""
    keys = forgotten_keys(db, twin)
    marks: dict[str, list[int]] = {}
    for version in registry.versions(twin):
        held = read_splits(version.path)
        if not held:
            continue  # made before versions kept their split: nothing to compare with
        requests = sorted({r for key in held if key in keys for r in keys[key]})
        if requests:
            marks[version.name] = requests
    registry.write_forgotten_marks(twin, marks)
    return sorted(marks)


def forget(settings: Settings, db: Database, request: ForgetRequest) -> FiledRequest:
    """File a request for every twin it names (``request.twin``, or all): the faces' one call."""
    from doppel.sources import read_records

    twins = [settings.twin(request.twin)] if request.twin else list(settings.twins)
    records_of = {twin.name: read_records(db, twin) for twin in twins}
    return file_request(db, Registry(settings.resolved_models_dir), request, records_of)
