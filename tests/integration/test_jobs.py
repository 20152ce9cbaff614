"""The queue's pieces on a real PostgreSQL: the schedule, exclusivity, the reaper."""

import asyncio

import psycopg
import pytest

from doppel.db import Database
from doppel.jobs.queue import enqueue, ensure_queue_schema
from doppel.jobs.tasks import build_app
from doppel.jobs.worker import reap
from doppel.runs import RunConflict, create_run, get_run, list_runs, run_lifecycle


@pytest.fixture
def settings(make_settings):
    s = make_settings()
    return s.model_copy(update={"service": s.service.model_copy(update={"stale_after_seconds": 1.0})})


def test_schedule_registers_each_twin_and_skips_a_busy_one(settings):
    db = Database(settings)
    ensure_queue_schema(db)
    app = build_app(settings, db)
    periodic = {key[1]: task for key, task in app.periodic_registry.periodic_tasks.items()}
    assert {k: periodic[k].cron for k in periodic} == {
        "incremental:allan-maverick": "0 3 * * *",
        "full:allan-maverick": "0 3 * * 0",
        "evaluate:allan-maverick": "0 4 1 * *",
    }

    async def fire_twice():
        async with app.open_async():
            task = periodic["incremental:allan-maverick"].task
            await task.func(timestamp=0)
            await task.func(timestamp=60)  # the twin is busy: skipped, not queued twice

    asyncio.run(fire_twice())
    runs = list_runs(db, "allan-maverick")
    assert [(r.mode, r.state, r.trigger) for r in runs] == [("incremental", "queued", "schedule")]
    assert runs[0].job_id is not None
    with psycopg.connect(db.url) as conn:
        job = conn.execute(
            "SELECT task_name, args, lock FROM doppel.procrastinate_jobs WHERE id = %s", (runs[0].job_id,)
        ).fetchone()
    assert job == ("doppel.train", {"run_id": runs[0].id}, "train:allan-maverick")


def test_one_active_run_per_twin_is_enforced_by_the_database(settings):
    db = Database(settings)
    db.ensure_schema()
    with db.connection() as conn:
        first = create_run(conn, "allan-maverick", "full", {}, state="running", trigger="cli")
    with db.connection() as conn, pytest.raises(RunConflict) as err:
        create_run(conn, "allan-maverick", "incremental", {})
    assert err.value.run_id == first and err.value.state == "running"
    with db.connection() as conn:  # another twin is independent
        create_run(conn, "someone-else", "full", {})

    app = build_app(settings, db)
    ensure_queue_schema(db)

    async def queue_one():
        async with app.open_async():
            return await enqueue(app, db, "allan-maverick", "full", {}, "api")

    with pytest.raises(RunConflict):
        asyncio.run(queue_one())


def test_reaper_fails_a_dead_cli_run_and_requeues_a_dead_worker_job(settings):
    db = Database(settings)
    ensure_queue_schema(db)
    app = build_app(settings, db)
    with db.connection() as conn:
        cli_run = create_run(conn, "allan-maverick", "full", {}, state="running", trigger="cli")
        conn.execute(
            "UPDATE doppel.runs SET heartbeat_at = now() - interval '1 hour', "
            'progress = \'{"step": 7, "total_steps": 40}\' WHERE id = %s',
            (cli_run,),
        )

    async def reap_then_queue_and_reap():
        async with app.open_async():
            first = await reap(app, settings, db)
            queued = await enqueue(app, db, "allan-maverick", "full", {}, "api")
            with db.connection() as conn:  # a worker took it, then died
                conn.execute(
                    "UPDATE doppel.runs SET state = 'running', attempts = 1, "
                    "heartbeat_at = now() - interval '1 hour' WHERE id = %s",
                    (queued,),
                )
                conn.execute(
                    "UPDATE doppel.procrastinate_jobs SET status = 'doing' WHERE id = "
                    "(SELECT job_id FROM doppel.runs WHERE id = %s)",
                    (queued,),
                )
            second = await reap(app, settings, db)
            return first, queued, second

    first, queued, second = asyncio.run(reap_then_queue_and_reap())
    assert first == [cli_run] and second == [queued]
    dead = get_run(db, cli_run)
    assert dead.state == "failed" and "stopped at step 7/40" in dead.error and "no heartbeat" in dead.error
    resumed = get_run(db, queued)
    assert resumed.state == "queued" and "resuming from the last checkpoint" in resumed.message
    with psycopg.connect(db.url) as conn:
        status = conn.execute(
            "SELECT status FROM doppel.procrastinate_jobs WHERE id = %s", (resumed.job_id,)
        ).fetchone()[0]
    assert status == "todo"


class _Stop(Exception):
    pass


def test_the_run_lifecycle_marks_beats_and_finishes_a_run_that_raises(settings):
    db = Database(settings)
    db.ensure_schema()
    with db.connection() as conn:
        failing = create_run(conn, "allan-maverick", "full", {"mode": "full"}, state="queued", trigger="test")
    with pytest.raises(RuntimeError), run_lifecycle(db, failing, 0.05):
        assert get_run(db, failing).state == "running"
        raise RuntimeError("disk full")
    run = get_run(db, failing)
    assert run.state == "failed" and "RuntimeError: disk full" in run.error and run.attempts == 1

    with db.connection() as conn:
        stopped = create_run(conn, "allan-maverick", "full", {"mode": "full"}, state="queued", trigger="test")
    with pytest.raises(_Stop), run_lifecycle(db, stopped, 0.05, cancelled=(_Stop,)):
        raise _Stop("asked to stop")
    assert get_run(db, stopped).state == "cancelled"

    with db.connection() as conn:
        fine = create_run(conn, "allan-maverick", "full", {"mode": "full"}, state="running", trigger="test")
    with run_lifecycle(db, fine, 0.05, mark=False):
        pass
    run = get_run(db, fine)
    assert run.state == "running" and run.attempts == 1  # success is the caller's to record; no second mark
