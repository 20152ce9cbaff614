"""The worker: takes runs from the queue, trains each in a child process, and reaps dead runs.

Runs inside ``doppel serve`` (one worker beside the API) or alone as
``doppel worker`` on each GPU node; all of them share the queue.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import procrastinate

from doppel.config import Settings
from doppel.db import SCHEMA, Database
from doppel.jobs.child import check_gpus
from doppel.jobs.queue import TRAINING_QUEUE, ensure_queue_schema, requeue
from doppel.jobs.tasks import build_app
from doppel.runs import Run, finish_run, stale_runs, update_run

log = logging.getLogger(__name__)


async def reap(app: procrastinate.App, settings: Settings, db: Database) -> list[int]:
    """Runs whose process stopped proving it is alive: resume them from their checkpoint, or fail them."""
    handled = []
    for run in stale_runs(db, settings.service.stale_after_seconds):
        if not _claim(db, run):
            continue  # another worker got there first
        handled.append(run.id)
        since = run.heartbeat_at.isoformat(timespec="seconds") if run.heartbeat_at else "its start"
        step = run.progress.step
        where = f"at step {step}/{run.progress.total_steps}" if step else f"in stage {run.progress.stage}"
        if run.job_id is None:
            finish_run(
                db,
                run.id,
                "failed",
                error=f"the process training it ({run.host} pid {run.pid}) stopped {where}: no heartbeat since {since}",
            )
        elif run.attempts >= settings.service.max_attempts:
            finish_run(
                db,
                run.id,
                "failed",
                error=f"its worker died {run.attempts} times (last {where}, no heartbeat since {since}); giving up",
            )
        else:
            update_run(db, run.id, message=f"worker {run.host} died {where}; resuming from the last checkpoint")
            await requeue(app, db, run.id, run.twin, run.job_id)
            log.warning("run %s: worker died %s; queued again to resume", run.id, where)
    return handled


def _claim(db: Database, run: Run) -> bool:
    """Move a stale run back to queued; false if someone else changed it meanwhile."""
    with db.connection() as conn:
        cur = conn.execute(
            f"UPDATE {SCHEMA}.runs SET state = 'queued' WHERE id = %s AND state = 'running' "
            f"AND heartbeat_at IS NOT DISTINCT FROM %s",
            (run.id, run.heartbeat_at),
        )
        return cur.rowcount == 1


async def reaper_loop(app: procrastinate.App, settings: Settings, db: Database) -> None:
    every = max(1.0, settings.service.heartbeat_seconds)
    while True:
        try:
            await reap(app, settings, db)
        except Exception:  # the reaper must outlive a database hiccup
            log.exception("reaper pass failed")
        await asyncio.sleep(every)


async def work(
    settings: Settings, db: Database, *, app: procrastinate.App | None = None, install_signal_handlers: bool = True
) -> None:
    """Run a worker (queue, schedule, reaper) until cancelled or signalled.

    ``app``: an already opened queue App to share (``doppel serve``); by
    default the worker builds and opens its own (``doppel worker``).
    """
    check_gpus(settings.service.gpus)
    ensure_queue_schema(db)
    if app is None:
        app = build_app(settings, db)
        async with app.open_async():
            await _run(app, settings, db, install_signal_handlers)
    else:
        await _run(app, settings, db, install_signal_handlers)


def clean_leftovers(settings: Settings) -> None:
    """Versions half-written by a process that was killed: removed at start (never visible, never resumed)."""
    from doppel.registry import Registry

    registry = Registry(settings.resolved_models_dir)
    for twin in settings.twins:
        removed = registry.clean_leftovers(twin.name)
        if removed:
            log.info("removed %s leftover(s) of killed writers for %s: %s", len(removed), twin.name, removed)


async def _run(app: procrastinate.App, settings: Settings, db: Database, install_signal_handlers: bool) -> None:
    clean_leftovers(settings)
    reaper = asyncio.create_task(reaper_loop(app, settings, db), name="doppel-reaper")
    try:
        await app.run_worker_async(
            queues=[TRAINING_QUEUE, "schedule"],
            name=f"doppel@{socket.gethostname()}",
            # One job at a time: a training owns the GPU; the schedule's short jobs wait their turn.
            concurrency=1,
            install_signal_handlers=install_signal_handlers,
            update_heartbeat_interval=settings.service.heartbeat_seconds,
            stalled_worker_timeout=settings.service.stale_after_seconds,
        )
    finally:
        reaper.cancel()
