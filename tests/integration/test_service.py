"""The trainer service, for real: `doppel serve` and `doppel worker` processes, PostgreSQL, the tiny model."""

from __future__ import annotations

import concurrent.futures
import signal

import psutil
import psycopg
import pytest

from doppel.demo.load import load_demo
from doppel.demo.persona import ANCHOR, generate_new
from doppel.registry import Registry
from tests.integration.service import Process, Server, wait_for

ADMIN = "admin-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"


def write_config(path, home, database_url, model_dir, *, max_steps=4, checkpoint_steps=50, extra=""):
    path.write_text(
        f'home = "{home}"\ndatabase_url = "{database_url}"\nlog_level = "info"\n\n'
        f"[service]\nheartbeat_seconds = 0.5\nstale_after_seconds = 4\ncancel_grace_seconds = 10\n{extra}\n"
        f"[schedule]\nenabled = false\n\n"
        f'[[twins]]\nname = "allan-maverick"\n[twins.base_model]\nname = "{model_dir}"\n'
        f"[twins.training]\nmax_steps = {max_steps}\nmax_length = 128\neval_batches = 2\nlearning_rate = 0.02\n"
        f"checkpoint_steps = {checkpoint_steps}\n[twins.promotion]\ntolerance = 10.0\n"
    )
    return path


@pytest.fixture
def config(tmp_path, home, demo_db, tiny_model_dir):
    return write_config(tmp_path / "doppel.toml", home, demo_db, tiny_model_dir)


@pytest.fixture
def server(config, tmp_path):
    srv = Server(config, tmp_path / "serve.log").wait_ready()
    yield srv
    srv.stop()


def test_train_then_learn_new_rows_incrementally(server, demo_db, config, home):
    r = server.client.post("/api/train", json={"epochs": 1, "learning_rate": 0.02, "batch_size": 4, "max_length": 128})
    assert r.status_code == 202, r.text
    first = server.wait_job(r.json()["job_id"])
    assert first["state"] == "succeeded", first
    assert first["version"] == "v1.0" and first["step"] == first["total_steps"] == 4
    assert first["val_loss"] is not None and first["tokens_per_second"] > 0 and len(first["loss_history"]) == 4

    with psycopg.connect(demo_db) as conn:
        load_demo(conn, generate_new(since=ANCHOR, seed=5, n_emails=10, n_deals=3, n_notes=4))
    r = server.client.post("/api/train", json={"mode": "incremental"})
    second = server.wait_job(r.json()["job_id"])
    assert second["state"] == "succeeded" and second["version"] == "v1.1", second
    assert second["examples"]["train"] > 0 and "v1.1 is final" in second["message"]

    versions = server.client.get("/api/versions").json()["versions"]
    listed = [(v["version"], v["final"], v["parent"]) for v in versions]
    assert listed == [("v1.0", False, None), ("v1.1", True, "v1.0")]

    r = server.client.post("/api/train", json={"mode": "incremental"})
    third = server.wait_job(r.json()["job_id"])
    assert third["state"] == "succeeded" and third["version"] is None and third["message"] == "nothing new since v1.1"

    jobs = server.client.get("/api/training/jobs").json()
    assert [j["state"] for j in jobs] == ["succeeded"] * 3

    reply = server.client.post("/api/test", json={"prompt": "Write an email about TestPilot CPG", "max_new_tokens": 4})
    assert reply.status_code == 200 and reply.json()["version"] == "v1.1" and reply.json()["latency_ms"] > 0

    assert server.client.post("/api/versions/rollback").json() == {"twin": "allan-maverick", "final": "v1.0"}
    assert server.client.post("/api/versions/v1.1/promote").json()["final"] == "v1.1"
    assert server.client.post("/api/versions/v9.9/promote").status_code == 404

    metrics = server.client.get("/metrics").text
    assert 'doppel_runs{state="succeeded",twin="allan-maverick"} 3.0' in metrics
    assert 'doppel_versions{twin="allan-maverick"} 2.0' in metrics
    assert "doppel_last_success_timestamp_seconds" in metrics
    health = server.client.get("/api/health").json()
    assert health["database"]["ok"] and health["worker"]["alive"] and health["queue"]["depth"] == 0


def test_concurrent_requests_make_one_job(server):
    def ask():
        return server.client.post("/api/train", json={"max_steps": 3})

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: ask(), range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 409, 409, 409], [a.text for a in answers]
    job = next(a.json()["job_id"] for a in answers if a.status_code == 202)
    assert all(a.json()["job_id"] == job for a in answers if a.status_code == 409)
    server.wait_job(job)
    assert len(server.client.get("/api/training/jobs").json()) == 1


def test_cancel_leaves_no_version(tmp_path, home, demo_db, tiny_model_dir):
    config = write_config(tmp_path / "long.toml", home, demo_db, tiny_model_dir, max_steps=5000)
    server = Server(config, tmp_path / "serve.log").wait_ready()
    try:
        job = server.client.post("/api/train", json={}).json()["job_id"]
        wait_for(lambda: (server.status(job_id=job).get("step") or 0) >= 3, 120, "training to make progress")
        r = server.client.post("/api/training/cancel", json={"twin": "allan-maverick"})
        assert r.status_code == 202 and r.json()["cancel_requested"]
        done = server.wait_job(job, timeout=60)
        assert done["state"] == "cancelled" and done["version"] is None and "cancelled at step" in done["message"]
        assert Registry(home / "models").versions("allan-maverick") == []
        assert server.client.post("/api/training/cancel", json={}).status_code == 404
    finally:
        server.stop()


def test_killed_worker_leaves_final_alone_and_the_job_resumes(tmp_path, home, demo_db, tiny_model_dir):
    config = write_config(tmp_path / "c.toml", home, demo_db, tiny_model_dir, max_steps=400, checkpoint_steps=5)
    api = Server(config, tmp_path / "api.log", "--no-worker").wait_ready()
    worker = Process(["worker", "--config", str(config)], tmp_path / "worker1.log")
    try:
        # v1.0 first, so there is a final to protect.
        short = api.client.post("/api/train", json={"max_steps": 2}).json()["job_id"]
        assert api.wait_job(short)["version"] == "v1.0"

        job = api.client.post("/api/train", json={}).json()["job_id"]
        wait_for(lambda: (api.status(job_id=job).get("step") or 0) >= 12, 180, "steps past a checkpoint")
        trainer_pid = _run_pid(demo_db, job)
        worker.kill(signal.SIGKILL)
        # Its training process dies with it (PR_SET_PDEATHSIG): no orphan goes on training.
        wait_for(
            lambda: not psutil.pid_exists(trainer_pid) or psutil.Process(trainer_pid).status() == "zombie",
            10,
            "the orphaned training process to die",
        )
        reg = Registry(home / "models")
        assert reg.get("allan-maverick").name == "v1.0"
        assert api.status(job_id=job)["state"] == "running"  # until its heartbeat goes stale

        worker = Process(["worker", "--config", str(config)], tmp_path / "worker2.log")
        done = api.wait_job(job, timeout=300)
        assert done["state"] == "succeeded" and done["attempts"] == 2 and done["version"] == "v2.0", done
        # It went on from its last checkpoint (every 5 steps), not from scratch.
        resumed = reg.get("allan-maverick", "v2.0").metrics["resumed_from_step"]
        assert resumed >= 10 and resumed % 5 == 0 and resumed < 400
    finally:
        worker.stop()
        api.stop()


def _run_pid(url: str, run_id: int) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pid FROM doppel.runs WHERE id = %s", (run_id,)).fetchone()[0]


def test_bad_bodies_are_422_naming_the_field(server):
    cases = {
        "epochs": {"epochs": 0},
        "learning_rate": {"learning_rate": -1},
        "batch_size": {"batch_size": "four"},
        "max_length": {"max_length": 8},
        "mode": {"mode": "sometimes"},
        "colour": {"colour": "blue"},
    }
    for field, body in cases.items():
        r = server.client.post("/api/train", json=body)
        assert r.status_code == 422, (field, r.text)
        assert field in [e["loc"][-1] for e in r.json()["detail"]], (field, r.json())
    too_long = server.client.post("/api/train", json={"max_length": 100000})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "max_length"]
    assert "1024" in too_long.json()["detail"][0]["msg"]  # the tiny model's context length
    unknown = server.client.post("/api/train", json={"twin": "bob"})
    assert unknown.status_code == 404 and unknown.json()["detail"]["known_twins"] == ["allan-maverick"]
    assert server.client.post("/api/test", json={"prompt": ""}).status_code == 422
    big = server.client.post(
        "/api/test", content=b"{" + b" " * 2_000_000 + b"}", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413


def test_tokens_beyond_loopback(tmp_path, home, demo_db, tiny_model_dir):
    config = write_config(tmp_path / "open.toml", home, demo_db, tiny_model_dir)
    refused = Process(["serve", "--config", str(config), "--host", "0.0.0.0", "--port", "1"], tmp_path / "r.log")
    assert refused.proc.wait(timeout=60) == 1 and "refusing to listen on 0.0.0.0" in refused.output()

    secured = write_config(
        tmp_path / "secured.toml",
        home,
        demo_db,
        tiny_model_dir,
        extra=f'tokens = ["{READER}"]\nadmin_tokens = ["{ADMIN}"]\n',
    )
    server = Server(secured, tmp_path / "s.log", "--no-worker", host="0.0.0.0").wait_ready()
    try:
        c = server.client
        assert c.get("/api/health").status_code == 200  # no token needed
        assert c.get("/api/versions").status_code == 401
        assert c.get("/metrics").status_code == 401
        assert c.get("/api/versions", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
        reader = {"Authorization": f"Bearer {READER}"}
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert c.get("/api/versions", headers=reader).status_code == 200
        assert c.post("/api/train", json={}, headers=reader).status_code == 403
        r = c.post("/api/train", json={}, headers=admin)
        assert r.status_code == 202
        assert c.post("/api/training/cancel", json={}, headers=reader).status_code == 403
        assert c.post("/api/training/cancel", json={}, headers=admin).status_code == 202
        assert "Bearer" in c.get("/api/versions").headers["www-authenticate"]
    finally:
        server.stop()
