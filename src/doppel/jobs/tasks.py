"""The queue's tasks, registered on one App: training runs and the built-in schedule.

Here rather than in ``queue.py`` so that the queue (enqueue, requeue), the
child process that trains and the schedule never import each other: each sits
below this module, and the worker and the service build their App here.
"""

from __future__ import annotations

import procrastinate

from doppel.config import Settings
from doppel.db import Database
from doppel.jobs.child import run_in_child
from doppel.jobs.queue import TRAIN_TASK, TRAINING_QUEUE, new_app
from doppel.jobs.schedule import register_schedule


def build_app(settings: Settings, db: Database) -> procrastinate.App:
    """The App with the training task and, when enabled, the schedule's periodic tasks."""
    app = new_app(db)

    @app.task(name=TRAIN_TASK, queue=TRAINING_QUEUE, pass_context=True)
    async def train(context: procrastinate.JobContext, run_id: int) -> None:
        await run_in_child(settings, db, run_id)

    register_schedule(app, settings, db)
    return app


def queue_run(settings: Settings, db: Database, twin: str, mode: str, *, trigger: str = "cli") -> int:
    """Queue a run from a synchronous caller (the CLI); a worker or `doppel serve` picks it up."""
    import asyncio

    from doppel.jobs.queue import enqueue, ensure_queue_schema

    async def _queue() -> int:
        ensure_queue_schema(db)
        app = build_app(settings, db)
        async with app.open_async():
            return await enqueue(app, db, twin, mode, {}, trigger)

    return asyncio.run(_queue())
