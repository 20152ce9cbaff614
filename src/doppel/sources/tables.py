"""The seed's four tables, as doppel creates them where it owns the data: the demo persona and imports.

A company's CRM has its own tables and doppel only reads them; these are for the embedded database, where
``doppel demo`` and ``doppel import`` write. Creating them is idempotent.
"""

from __future__ import annotations

SEED_DDL = """
CREATE TABLE IF NOT EXISTS crm_emails (
    id              BIGINT PRIMARY KEY,
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    sent_at         TIMESTAMPTZ NOT NULL,
    sender_email    TEXT NOT NULL,
    recipient_email TEXT,
    in_reply_to     BIGINT REFERENCES crm_emails (id)
);
CREATE INDEX IF NOT EXISTS crm_emails_sent_at ON crm_emails (sent_at DESC);
CREATE TABLE IF NOT EXISTS conversations (
    id          BIGINT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    metadata    JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id              BIGINT PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, created_at);
CREATE TABLE IF NOT EXISTS crm_deals (
    id          BIGINT PRIMARY KEY,
    deal_name   TEXT NOT NULL,
    stage       TEXT NOT NULL,
    amount      NUMERIC(14, 2),
    notes       TEXT,
    owner_email TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS sticky_notes (
    id          BIGINT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    content     TEXT NOT NULL,
    tags        TEXT[] NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL
);
"""

# What an import adds to crm_emails: the headers that make threads come out right on the next import too.
# in_reply_to (the seed's column) holds the parent's id once the parent is in the table; until then the
# parent's Message-ID waits in in_reply_to_message_id.
IMPORT_DDL = """
ALTER TABLE crm_emails
    ADD COLUMN IF NOT EXISTS message_id TEXT,
    ADD COLUMN IF NOT EXISTS in_reply_to_message_id TEXT,
    ADD COLUMN IF NOT EXISTS thread_id TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS crm_emails_message_id ON crm_emails (message_id);
"""
