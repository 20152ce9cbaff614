"""The built-in schedule: nightly incremental, weekly full retrain, monthly evaluation.

Each entry is a procrastinate periodic task (cron, UTC). Periodic jobs are
deduplicated in the database by (task, periodic id, time), so any number of
workers may run the schedule and each run is queued once. A scheduled run
that finds the twin already training is skipped, with a log line.

The seed's alternative, a crontab calling the API, works too (README).
"""

from __future__ import annotations

import logging

import procrastinate

from doppel.config import Settings
from doppel.db import Database
from doppel.jobs.queue import enqueue
from doppel.runs import RunConflict

log = logging.getLogger(__name__)


def register_schedule(app: procrastinate.App, settings: Settings, db: Database) -> None:
    if not settings.schedule.enabled:
        return
    entries = {
        "incremental": settings.schedule.incremental,
        "full": settings.schedule.full,
        "evaluate": settings.schedule.evaluation,
        "preference": settings.schedule.preference,
    }
    for twin in settings.twins:
        for mode, cron in entries.items():
            if cron:
                _register(app, db, twin.name, mode, cron)


def _register(app: procrastinate.App, db: Database, twin: str, mode: str, cron: str) -> None:
    @app.periodic(cron=cron, periodic_id=f"{mode}:{twin}")
    @app.task(name=f"doppel.schedule.{mode}.{twin}", queue="schedule", pass_context=False)
    async def scheduled(timestamp: int) -> None:
        try:
            run_id = await enqueue(app, db, twin, mode, {}, trigger="schedule")
            log.info("scheduled %s run %s queued for %s", mode, run_id, twin)
        except RunConflict as exc:
            log.info("scheduled %s run for %s skipped: %s", mode, twin, exc)
