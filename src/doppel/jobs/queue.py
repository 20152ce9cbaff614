"""The job queue: procrastinate on the same PostgreSQL, in doppel's schema.

A training request becomes a row in ``doppel.runs`` (the unique index there
refuses a second queued-or-running training of one twin, a natural 409) and a
procrastinate job carrying the run id. The job's ``lock`` keeps two workers,
on any machines, from running trainings of one twin at once.
"""

from __future__ import annotations

import logging
from datetime import UTC

import procrastinate
import psycopg

from doppel.db import SCHEMA, Database
from doppel.runs import create_run, update_run

log = logging.getLogger(__name__)

TRAIN_TASK = "doppel.train"
TRAINING_QUEUE = "training"
MODES = ("full", "incremental", "preference", "evaluate")


def new_app(db: Database) -> procrastinate.App:
    """A procrastinate App on doppel's database whose tables and functions live in the doppel schema.

    It has no tasks yet: ``jobs/tasks.py`` registers them (``build_app``).
    """
    connector = procrastinate.PsycopgConnector(
        conninfo=db.url, kwargs={"options": f"-c search_path={SCHEMA},public"}, min_size=1, max_size=4
    )
    return procrastinate.App(connector=connector)


def ensure_queue_schema(db: Database) -> None:
    """Install procrastinate's tables into the doppel schema once (the installer is not idempotent)."""
    db.ensure_schema()
    from procrastinate.schema import SchemaManager

    with db.connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('doppel queue schema'))")
        present = conn.execute(f"SELECT to_regclass('{SCHEMA}.procrastinate_jobs')").fetchone()[0]
        if present is None:
            conn.execute(f"SET LOCAL search_path = {SCHEMA}, public")
            conn.execute(SchemaManager.get_schema())
            # procrastinate's triggers name its types unqualified; pin each function's search_path so
            # an UPDATE from any connection (psql, the reaper, an admin) resolves them.
            functions = conn.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = %s AND p.proname LIKE 'procrastinate%%'",
                (SCHEMA,),
            ).fetchall()
            for (signature,) in functions:
                conn.execute(f"ALTER FUNCTION {signature} SET search_path = {SCHEMA}, public")
            log.info("installed the job queue's tables in schema %s", SCHEMA)


def _lock(twin: str) -> str:
    return f"train:{twin}"


async def enqueue(app: procrastinate.App, db: Database, twin: str, mode: str, params: dict, trigger: str) -> int:
    """Queue a run; returns its id. Raises RunConflict while the twin has one queued or running."""
    assert mode in MODES
    with db.connection() as conn:
        run_id = create_run(conn, twin, mode, {"mode": mode, **params}, state="queued", trigger=trigger)
    try:
        job_id = await app.configure_task(
            TRAIN_TASK,
            lock=_lock(twin) if mode != "evaluate" else f"evaluate:{twin}",
            queueing_lock=f"run:{run_id}",
        ).defer_async(run_id=run_id)
    except BaseException as exc:
        update_run(db, run_id, state="failed", error=f"could not queue the job: {exc}")
        raise
    update_run(db, run_id, job_id=job_id)
    return run_id


async def requeue(app: procrastinate.App, db: Database, run_id: int, twin: str, job_id: int | None) -> int:
    """Put a run whose worker died back in the queue (its checkpoints make it resume)."""
    if job_id is not None:
        try:
            await app.job_manager.retry_job_by_id_async(job_id=job_id, retry_at=_now())
            return job_id
        except (psycopg.Error, procrastinate.exceptions.ProcrastinateException) as exc:
            log.info("job %s cannot be retried (%s); queueing a new one for run %s", job_id, exc, run_id)
    new_id = await app.configure_task(TRAIN_TASK, lock=_lock(twin)).defer_async(run_id=run_id)
    update_run(db, run_id, job_id=new_id)
    return new_id


def _now():
    from datetime import datetime

    return datetime.now(UTC)


async def queue_depth(app: procrastinate.App) -> int:
    rows = await app.job_manager.list_jobs_async(queue=TRAINING_QUEUE, status="todo")
    return len(list(rows))
