"""Put the demo persona into PostgreSQL, in the seed's four tables with the seed's column names.

The tables are created when missing and rows are inserted with ON CONFLICT
DO NOTHING, so loading twice changes nothing and new rows (``generate_new``)
can be added later, as a CRM would grow.
"""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from doppel.demo.persona import DemoData
from doppel.sources.tables import SEED_DDL

_INSERTS = {
    "emails": (
        "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email, recipient_email, in_reply_to) "
        "VALUES (%(id)s, %(subject)s, %(body)s, %(sent_at)s, %(sender_email)s, %(recipient_email)s, "
        "%(in_reply_to)s) ON CONFLICT (id) DO NOTHING"
    ),
    "conversations": (
        "INSERT INTO conversations (id, user_id, metadata, created_at) "
        "VALUES (%(id)s, %(user_id)s, %(metadata)s, %(created_at)s) ON CONFLICT (id) DO NOTHING"
    ),
    "messages": (
        "INSERT INTO messages (id, conversation_id, role, content, created_at) "
        "VALUES (%(id)s, %(conversation_id)s, %(role)s, %(content)s, %(created_at)s) ON CONFLICT (id) DO NOTHING"
    ),
    "deals": (
        "INSERT INTO crm_deals (id, deal_name, stage, amount, notes, owner_email, created_at) "
        "VALUES (%(id)s, %(deal_name)s, %(stage)s, %(amount)s, %(notes)s, %(owner_email)s, %(created_at)s) "
        "ON CONFLICT (id) DO NOTHING"
    ),
    "notes": (
        "INSERT INTO sticky_notes (id, user_id, title, content, tags, created_at) "
        "VALUES (%(id)s, %(user_id)s, %(title)s, %(content)s, %(tags)s, %(created_at)s) ON CONFLICT (id) DO NOTHING"
    ),
}


def load_demo(conn: psycopg.Connection, data: DemoData) -> dict[str, int]:
    """Create the tables if needed and insert ``data`` (rows already there are kept); rows given per table."""
    conn.execute(SEED_DDL)
    inserted: dict[str, int] = {}
    with conn.cursor() as cur:
        # Emails reference earlier emails: insert in id order so parents come first.
        for table in ("emails", "conversations", "messages", "deals", "notes"):
            rows = getattr(data, table)
            if table == "emails":
                rows = sorted(rows, key=lambda r: r["id"])
            if table == "conversations":
                rows = [{**r, "metadata": Jsonb(r["metadata"])} for r in rows]
            cur.executemany(_INSERTS[table], rows)
            inserted[table] = len(rows)
    conn.commit()
    return inserted
