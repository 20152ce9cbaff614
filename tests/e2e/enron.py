"""Load one real Enron mailbox (../shared/data/enron) into the seed's crm_emails table.

The owner's messages are those in 'Sent Items'; a reply ('RE: x') is linked to
the newest earlier message someone else sent with the same subject, the way a
CRM that stores threads would have it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from doppel.demo.load import DDL

_PREFIX = re.compile(r"^\s*((re|fw|fwd)\s*:\s*)+", re.IGNORECASE)


def _subject_key(subject: str) -> str:
    return _PREFIX.sub("", subject or "").strip().lower()


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def load_mailbox(conn: psycopg.Connection, path: Path, owner_email: str) -> dict[str, int]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    messages = []
    for i, row in enumerate(rows, start=1):
        sent_at = _when(row.get("date"))
        if sent_at is None:
            continue
        own = row.get("folder") == "Sent Items"
        sender = owner_email if own else (row.get("from") or ["unknown"])[0].lower()
        messages.append({
            "id": i, "subject": row.get("subject") or "", "body": row.get("body") or "", "sent_at": sent_at,
            "sender_email": sender, "recipient_email": ", ".join(row.get("to") or []), "in_reply_to": None, "own": own,
        })
    incoming = sorted((m for m in messages if not m["own"]), key=lambda m: m["sent_at"])
    for m in messages:
        if m["own"] and _PREFIX.match(m["subject"]):
            key = _subject_key(m["subject"])
            earlier = [p for p in incoming if _subject_key(p["subject"]) == key and p["sent_at"] < m["sent_at"]]
            if earlier:
                m["in_reply_to"] = earlier[-1]["id"]
    conn.execute(DDL)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email, recipient_email, in_reply_to) "
            "VALUES (%(id)s, %(subject)s, %(body)s, %(sent_at)s, %(sender_email)s, %(recipient_email)s, %(in_reply_to)s)",
            sorted(messages, key=lambda m: m["id"]),
        )
    conn.commit()
    own = [m for m in messages if m["own"]]
    return {"messages": len(messages), "own": len(own), "replies": sum(m["in_reply_to"] is not None for m in own)}
