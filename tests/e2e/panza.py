"""Load Panza's cleaned sent emails (../shared/data/panza) into the seed's crm_emails table.

Panza's data is bodies only: no subject, no recipient, no date. That is the
case a twin collapses on when every prompt is the same, so the table keeps it
that way: an empty subject, no recipient, and made-up send times one hour
apart in file order (the data set needs an order, not a calendar). The other
Panza person's emails, and the sent mail of the Enron mailboxes, go in beside
them as other people's mail, the contrast class the authorship classifier
learns "not the person" from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from doppel.sources.tables import SEED_DDL as DDL

START = datetime(2001, 1, 1, tzinfo=UTC)


def _bodies(path: Path) -> list[str]:
    return [json.loads(line)["email"] for line in path.read_text().splitlines() if line.strip()]


def _sent_bodies(mailbox: Path) -> list[str]:
    """The bodies an Enron mailbox's owner sent, as Panza keeps them (no header)."""
    rows = (json.loads(line) for line in mailbox.read_text().splitlines() if line.strip())
    return [r["body"] for r in rows if r.get("folder") == "Sent Items" and (r.get("body") or "").strip()]


def load_panza(
    conn: psycopg.Connection,
    person: Path,
    others: list[Path],
    person_email: str,
    mailboxes: Sequence[Path] = (),
) -> dict[str, int]:
    """Fill crm_emails with the person's bodies and, as other people's mail, ``others`` (Panza files) and the
    sent mail of ``mailboxes`` (Enron mailboxes): a CRM table holds many people's mail, and a contrast class
    of one other person teaches the classifier "not him" rather than "her"."""
    conn.execute(DDL)
    people = [(person_email, _bodies(person))]
    people += [(f"{p.stem.replace('_', '.')}@enron.com", _bodies(p)) for p in others]
    people += [(f"{p.stem}@enron.com", _sent_bodies(p)) for p in mailboxes]
    span = len(people[0][1])
    rows = []
    for sender, bodies in people:
        for i, body in enumerate(bodies):
            # Everyone's mail spread over the person's span, so the newest others are a mix of all of them.
            sent_at = START + timedelta(hours=i * span / max(1, len(bodies)))
            rows.append({"id": len(rows) + 1, "body": body, "sent_at": sent_at, "sender_email": sender})
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email) "
            "VALUES (%(id)s, '', %(body)s, %(sent_at)s, %(sender_email)s)",
            rows,
        )
    conn.commit()
    mine = sum(r["sender_email"] == person_email for r in rows)
    return {"person": mine, "others": len(rows) - mine}
