"""Load Panza's cleaned sent emails (../shared/data/panza) into the seed's crm_emails table.

Panza's data is bodies only: no subject, no recipient, no date. That is the
case a twin collapses on when every prompt is the same, so the table keeps it
that way: an empty subject, no recipient, and made-up send times one hour
apart in file order (the data set needs an order, not a calendar). The other
Panza person's emails go in beside them as someone else's mail, the contrast
class the authorship classifier learns "not the person" from.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from doppel.demo.load import DDL

START = datetime(2001, 1, 1, tzinfo=UTC)


def _bodies(path: Path) -> list[str]:
    return [json.loads(line)["email"] for line in path.read_text().splitlines() if line.strip()]


def load_panza(conn: psycopg.Connection, person: Path, others: list[Path], person_email: str) -> dict[str, int]:
    conn.execute(DDL)
    rows = []
    for n, path in enumerate([person, *others]):
        sender = person_email if n == 0 else f"{path.stem.replace('_', '.')}@enron.com"
        for i, body in enumerate(_bodies(path)):
            rows.append(
                {"id": len(rows) + 1, "body": body, "sent_at": START + timedelta(hours=i), "sender_email": sender}
            )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email) "
            "VALUES (%(id)s, '', %(body)s, %(sent_at)s, %(sender_email)s)",
            rows,
        )
    conn.commit()
    mine = sum(r["sender_email"] == person_email for r in rows)
    return {"person": mine, "others": len(rows) - mine}
