"""The email a reply answers, found in the same table when no ``in_reply_to`` says so.

Few CRMs store which email a reply answers, but the answered email is usually
in the same table: the latest email of the same thread (``thread_id``) or,
without threads, with the same subject once "RE:"/"FW:" are stripped, sent by
someone else to the person (or by someone the reply goes to), within
``reply_window_days`` before the reply.

The candidates come from one streamed query restricted to the subjects and
threads wanted and to the time range, so the table is never read into memory
and there is no query per email.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from doppel.config import EmailSource, Persona
from doppel.db import qualified
from doppel.sources.parties import Party, among, parse_parties, parse_party, same_party
from doppel.sources.stream import stream_rows

# A run of reply/forward prefixes, in the languages mail clients write them in
# (AW/WG: German, SV: Nordic, Antw: Dutch). Written so Python and PostgreSQL
# regular expressions read it the same way.
REPLY_PREFIX = r"^(\s*(re|fwd?|aw|wg|sv|antw)\s*:)+"


def normalise_subject(subject: str | None) -> str:
    """The thread's subject: prefixes stripped, spaces collapsed, lower case ("" matches nothing)."""
    stripped = re.sub(REPLY_PREFIX, "", subject or "", flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", stripped).strip().lower()


def normalised_subject_sql(column: sql.Composable) -> sql.Composable:
    """``normalise_subject`` as a SQL expression, so candidates are filtered in the database."""
    return sql.SQL(
        "lower(btrim(regexp_replace(regexp_replace(coalesce({col}, ''), {prefix}, '', 'i'), '\\s+', ' ', 'g')))"
    ).format(col=column, prefix=sql.Literal(REPLY_PREFIX))


@dataclass(frozen=True)
class Waiting:
    """One of the person's emails whose parent is sought."""

    email_id: str
    sent_at: datetime
    person: Party  # the person as this email's sender
    thread: str | None
    subject_key: str
    recipients: tuple[Party, ...] = ()


@dataclass(frozen=True)
class Parent:
    via: str  # thread | subject
    sender: str
    subject: str
    body: str


def find_parents(
    conn: psycopg.Connection,
    persona: Persona,
    cfg: EmailSource,
    waiting: Iterable[Waiting],
    *,
    has_thread: bool,
    has_recipient: bool,
) -> dict[str, Parent]:
    """Parent per email id, for those of ``waiting`` that have one."""
    by_thread: dict[str, list[Waiting]] = {}
    by_subject: dict[str, list[Waiting]] = {}
    for w in waiting:
        if w.thread is not None:  # a thread id is the table's own word on threads: no guessing by subject
            by_thread.setdefault(w.thread, []).append(w)
        elif w.subject_key:
            by_subject.setdefault(w.subject_key, []).append(w)
    if not by_thread and not by_subject:
        return {}
    window = timedelta(days=cfg.reply_window_days)
    by_subject_list = [w for ws in by_subject.values() for w in ws]
    until = max(w.sent_at for ws in (*by_thread.values(), by_subject_list) for w in ws)
    since = min((w.sent_at for w in by_subject_list), default=until) - window

    col = sql.Identifier
    candidates = sql.SQL(
        "SELECT {id} AS id, {sender} AS sender, {recipient} AS recipient, {subject} AS subject, {body} AS body, "
        "{sent_at} AS sent_at, {thread} AS thread, {subject_key} AS subject_key FROM {table} "
        "WHERE {sent_at} < %(until)s AND coalesce({sender}, '') NOT LIKE %(pattern)s"
    ).format(
        id=col(cfg.id_column),
        sender=col(cfg.sender_column),
        recipient=col(cfg.recipient_column) if has_recipient else sql.NULL,
        subject=col(cfg.subject_column),
        body=col(cfg.body_column),
        sent_at=col(cfg.sent_at_column),
        thread=sql.SQL("{}::text").format(col(cfg.thread_id_column)) if has_thread else sql.SQL("NULL::text"),
        subject_key=normalised_subject_sql(col(cfg.subject_column)),
        table=qualified(cfg.table),
    )
    # One branch per route, so each gets its own plan; the subject one is a hash
    # semi-join on the normalised subject that keeps only candidates inside some
    # reply's own window (a "Hello" over years of mail does not stream every use).
    # A row in both branches comes twice, which changes nothing below.
    branches = []
    if by_thread:
        branches.append(
            sql.SQL("SELECT * FROM ({c}) AS c WHERE c.thread = ANY(%(threads)s::text[])").format(c=candidates)
        )
    if by_subject:
        branches.append(
            sql.SQL(
                "SELECT * FROM ({c}) AS c WHERE c.sent_at >= %(since)s AND EXISTS ("
                "SELECT 1 FROM unnest(%(subjects)s::text[], %(times)s::timestamptz[]) AS w(key, sent_at) "
                "WHERE w.key = c.subject_key AND c.sent_at < w.sent_at AND c.sent_at >= w.sent_at - %(window)s)"
            ).format(c=candidates)
        )
    query = sql.SQL(
        "SELECT sender, recipient, subject, body, sent_at, thread, subject_key "
        "FROM ({branches}) AS found ORDER BY sent_at DESC, id DESC"
    ).format(branches=sql.SQL(" UNION ALL ").join(branches))
    params = {
        "until": until,
        "since": since,
        "window": window,
        "pattern": persona.email_pattern,
        "threads": list(by_thread),
        "subjects": [w.subject_key for w in by_subject_list],
        "times": [w.sent_at for w in by_subject_list],
    }
    found: dict[str, Parent] = {}
    # Newest first: the first candidate that qualifies for an email is its parent.
    for sender, recipient, subject, body, sent_at, thread, subject_key in stream_rows(conn, query, params):
        if not (body or "").strip():
            continue
        for w in by_thread.get(thread, ()) if thread is not None else ():
            if w.email_id in found or not sent_at < w.sent_at:
                continue
            if not same_party(parse_party(sender or ""), w.person, loose=True):
                found[w.email_id] = Parent("thread", sender or "", subject or "", body)
        for w in by_subject.get(subject_key, ()):
            if w.email_id in found or not w.sent_at - window <= sent_at < w.sent_at:
                continue
            author = parse_party(sender or "")
            if same_party(author, w.person, loose=True):
                continue
            if has_recipient and not _addressed(author, parse_parties(recipient), w):
                continue
            found[w.email_id] = Parent("subject", sender or "", subject or "", body)
    return found


def _addressed(author: Party, their_recipients: tuple[Party, ...], reply: Waiting) -> bool:
    """Whether the candidate went to the person, or the reply goes back to its sender.

    When neither email names any recipient there is nothing to rule it out on.
    """
    if not their_recipients and not reply.recipients:
        return True
    return among(reply.person, their_recipients) or among(author, reply.recipients)
