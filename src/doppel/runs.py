"""The ``doppel.runs`` table: one row per training run, whoever started it.

A run's row is its whole public state: queued → running → succeeded, failed or
cancelled; its progress while it trains (written by the process that trains,
so the API shows CLI runs too); a heartbeat proving that process is alive; and
a cancel flag the training loop checks between steps. A unique index allows
one queued-or-running training per twin.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict

from doppel.db import SCHEMA, Database

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled")
STATES = ACTIVE + FINISHED


class RunConflict(RuntimeError):
    """A training for this twin is already queued or running."""

    def __init__(self, twin: str, run_id: int | None, state: str | None):
        self.twin, self.run_id, self.state = twin, run_id, state
        super().__init__(f"a training run for twin {twin!r} is already {state or 'active'} (run {run_id})")


class RunProgress(BaseModel):
    """A run's ``progress`` column: written by the training pipeline and evaluation runs while they work,
    read by the API's status and the reaper. Fields a stage does not reach stay unset and are not stored;
    fields beyond these (the incremental selection's counts) are kept as they come."""

    model_config = ConfigDict(extra="allow")

    mode: str | None = None
    stage: str | None = None
    step: int | None = None
    total_steps: int | None = None
    epoch: int | None = None
    epochs: int | None = None
    train_loss: float | None = None
    learning_rate: float | None = None
    tokens_per_second: float | None = None
    eta_seconds: float | None = None
    step_seconds: float | None = None
    initial_val_loss: float | None = None
    initial_val_perplexity: float | None = None
    val_loss: float | None = None
    val_perplexity: float | None = None
    examples: dict | None = None
    loss_history: list[list[float]] | None = None

    def update(self, **fields) -> None:
        for key, value in fields.items():
            setattr(self, key, value)

    def stored(self) -> dict:
        """The JSON the row holds."""
        return self.model_dump(exclude_none=True)


@dataclass(frozen=True)
class Run:
    id: int
    twin: str
    mode: str
    state: str
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    version: str | None
    params: dict
    metrics: dict
    progress: RunProgress
    message: str | None
    error: str | None
    job_id: int | None
    attempts: int
    cancel_requested: bool
    heartbeat_at: datetime | None
    host: str | None
    pid: int | None

    def __post_init__(self) -> None:
        if not isinstance(self.progress, RunProgress):  # the row's JSON, as psycopg reads it
            object.__setattr__(self, "progress", RunProgress.model_validate(self.progress or {}))


_COLUMNS = ", ".join(Run.__dataclass_fields__)


def _fetch(conn: psycopg.Connection, where: str, params: dict, limit: int = 1) -> list[Run]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT {_COLUMNS} FROM {SCHEMA}.runs WHERE {where} ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
            {**params, "limit": limit},
        )
        return [Run(**row) for row in cur.fetchall()]


def active_run(conn: psycopg.Connection, twin: str) -> Run | None:
    found = _fetch(conn, "twin = %(twin)s AND state IN ('queued', 'running') AND mode <> 'evaluate'", {"twin": twin})
    return found[0] if found else None


def create_run(
    conn: psycopg.Connection, twin: str, mode: str, params: dict, *, state: str = "queued", trigger: str = "api"
) -> int:
    """Insert a run; RunConflict when the twin already has one queued or running (checked by the database)."""
    assert state in ACTIVE
    own_process = state == "running"
    try:
        with conn.transaction():
            row = conn.execute(
                f"INSERT INTO {SCHEMA}.runs (twin, mode, state, trigger, params, started_at, heartbeat_at, host, pid, "
                f"attempts) VALUES (%s, %s, %s, %s, %s, {'now()' if own_process else 'NULL'}, "
                f"{'now()' if own_process else 'NULL'}, %s, %s, %s) RETURNING id",
                (
                    twin,
                    mode,
                    state,
                    trigger,
                    Jsonb(params),
                    socket.gethostname() if own_process else None,
                    os.getpid() if own_process else None,
                    1 if own_process else 0,
                ),
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        existing = active_run(conn, twin)
        raise RunConflict(twin, existing.id if existing else None, existing.state if existing else None) from None
    return int(row[0])


def get_run(db: Database, run_id: int) -> Run | None:
    with db.connection() as conn:
        found = _fetch(conn, "id = %(id)s", {"id": run_id})
    return found[0] if found else None


def latest_run(db: Database, twin: str | None = None) -> Run | None:
    """The active run if there is one, else the newest."""
    with db.connection() as conn:
        if twin is not None:
            active = active_run(conn, twin)
            if active:
                return active
        found = _fetch(conn, "(%(twin)s::text IS NULL OR twin = %(twin)s)", {"twin": twin})
    return found[0] if found else None


def list_runs(db: Database, twin: str | None = None, limit: int = 50) -> list[Run]:
    with db.connection() as conn:
        return _fetch(conn, "(%(twin)s::text IS NULL OR twin = %(twin)s)", {"twin": twin}, limit)


def update_run(db: Database, run_id: int, **fields) -> None:
    """Set columns of a run (JSON values wrapped for jsonb)."""
    if not fields:
        return
    assignments = ", ".join(f"{k} = %({k})s" for k in fields)
    fields = {k: v.stored() if isinstance(v, RunProgress) else v for k, v in fields.items()}
    values = {k: Jsonb(v) if isinstance(v, (dict, list)) else v for k, v in fields.items()}
    with db.connection() as conn:
        conn.execute(f"UPDATE {SCHEMA}.runs SET {assignments} WHERE id = %(run_id)s", {**values, "run_id": run_id})


def mark_running(db: Database, run_id: int) -> None:
    with db.connection() as conn:
        conn.execute(
            f"UPDATE {SCHEMA}.runs SET state = 'running', started_at = coalesce(started_at, now()), "
            f"heartbeat_at = now(), attempts = attempts + 1, host = %s, pid = %s WHERE id = %s",
            (socket.gethostname(), os.getpid(), run_id),
        )


# Progress rows are written at most this often (seconds): enough for a live page.
PROGRESS_EVERY = 1.0


@contextmanager
def run_lifecycle(
    db: Database,
    run_id: int,
    heartbeat_seconds: float,
    *,
    mark: bool = True,
    cancelled: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """The working part of a run: marked running (unless ``mark`` is False: the row was created running),
    kept alive by a heartbeat, and finished as failed, or as cancelled for one of ``cancelled``, when
    the body raises (the exception goes on). Success is the caller's to record: only it knows the result.
    """
    if mark:
        mark_running(db, run_id)
    try:
        with Heartbeat(db, run_id, heartbeat_seconds):
            yield
    except cancelled as exc:
        finish_run(db, run_id, "cancelled", message=str(exc))
        raise
    except BaseException as exc:
        finish_run(db, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise


def finish_run(
    db: Database,
    run_id: int,
    state: str,
    *,
    version: str | None = None,
    metrics: dict | None = None,
    message: str | None = None,
    error: str | None = None,
) -> None:
    assert state in FINISHED
    with db.connection() as conn:
        conn.execute(
            f"UPDATE {SCHEMA}.runs SET state = %s, finished_at = now(), version = %s, metrics = %s, "
            f"message = %s, error = %s WHERE id = %s",
            (state, version, Jsonb(metrics or {}), message, error, run_id),
        )


def request_cancel(db: Database, twin: str, run_id: int | None = None) -> Run | None:
    """Cancel a run of the twin: ``run_id``, or else its active training run, or else its oldest active
    evaluation. A queued run ends at once, a running one at its next step (or is ended after the grace)."""
    with db.connection() as conn:
        if run_id is not None:
            found = _fetch(
                conn, "id = %(id)s AND twin = %(twin)s AND state IN ('queued', 'running')", {"id": run_id, "twin": twin}
            )
        else:
            found = [r for r in [active_run(conn, twin)] if r] or _fetch(
                conn, "twin = %(twin)s AND state IN ('queued', 'running') AND mode = 'evaluate'", {"twin": twin}
            )[-1:]
        run = found[0] if found else None
        if run is None:
            return None
        if run.state == "queued":
            conn.execute(
                f"UPDATE {SCHEMA}.runs SET state = 'cancelled', finished_at = now(), cancel_requested = true, "
                f"message = 'cancelled before it started' WHERE id = %s",
                (run.id,),
            )
        else:
            conn.execute(f"UPDATE {SCHEMA}.runs SET cancel_requested = true WHERE id = %s", (run.id,))
    return run


def cancel_requested(db: Database, run_id: int) -> bool:
    with db.connection() as conn:
        row = conn.execute(f"SELECT cancel_requested FROM {SCHEMA}.runs WHERE id = %s", (run_id,)).fetchone()
    return bool(row and row[0])


def stale_runs(db: Database, older_than_seconds: float) -> list[Run]:
    """Running runs whose process has not proved it is alive for a while."""
    with db.connection() as conn:
        return _fetch(
            conn,
            "state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => %(s)s))",
            {"s": older_than_seconds},
            limit=1000,
        )


class Heartbeat:
    """A thread that stamps the run's heartbeat while the work goes on, whatever stage it is in."""

    def __init__(self, db: Database, run_id: int, every: float):
        self.db, self.run_id, self.every = db, run_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                update_run(self.db, self.run_id, heartbeat_at=datetime.now().astimezone())
            except Exception:  # a missed beat is not worth killing the run for
                pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=self.every + 5)
        return False
