"""Load one real Enron mailbox (../shared/data/enron) into a crm_emails table as a CRM would hold it.

The owner's messages are those in 'Sent Items', sent from ``owner_email``.
Everyone else's sender is their address when the mail system recorded one,
else the display string as it came; recipients are the To list as written
(display names and addresses in mixed formats). There is no in_reply_to column:
doppel has to find which email each reply answers by itself.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from doppel.sources.parties import parse_party

DDL = """
CREATE TABLE IF NOT EXISTS crm_emails (
    id              BIGINT PRIMARY KEY,
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    sent_at         TIMESTAMPTZ NOT NULL,
    sender_email    TEXT NOT NULL,
    recipient_email TEXT
);
CREATE INDEX IF NOT EXISTS crm_emails_sent_at ON crm_emails (sent_at DESC);
"""
_REPLY = re.compile(r"^\s*re\s*:", re.IGNORECASE)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _sender(display: str) -> str:
    return parse_party(display).address or display.strip() or "unknown"


def load_mailbox(conn: psycopg.Connection, path: Path, owner_email: str) -> dict[str, int]:
    """Fill crm_emails; count the messages, the owner's, and the owner's replies ('RE: ...')."""
    messages = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        sent_at = _when(row.get("date"))
        if sent_at is None:
            continue
        own = row.get("folder") == "Sent Items"
        messages.append(
            {
                "id": i,
                "subject": row.get("subject") or "",
                "body": row.get("body") or "",
                "sent_at": sent_at,
                "sender_email": owner_email if own else _sender((row.get("from") or [""])[0]),
                "recipient_email": ", ".join(row.get("to") or []) or None,
                "own": own,
            }
        )
    conn.execute(DDL)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email, recipient_email) "
            "VALUES (%(id)s, %(subject)s, %(body)s, %(sent_at)s, %(sender_email)s, %(recipient_email)s)",
            messages,
        )
    conn.commit()
    own = [m for m in messages if m["own"]]
    return {"messages": len(messages), "own": len(own), "replies": sum(bool(_REPLY.match(m["subject"])) for m in own)}
