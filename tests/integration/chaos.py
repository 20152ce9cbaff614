"""Kill training at seeded random moments and check what must hold after every kill.

One kill point is (what to kill, when): the run's training child, or the worker that supervises it,
either at a fraction of how long an undisturbed run takes (training, checkpoints, the gate,
registration, promotion and the GGUF export after promotion all happen within that time) or the
moment the run reports a given stage, so the short ones (registration, export) are hit too. After
each kill:

- ``final`` points to a complete version whose manifest hashes verify, and every listed version does;
- the killed run resumes from its checkpoint (a dead worker's, after its heartbeat goes stale) or fails
  with the reason, and no run stays queued or running;
- no training process is left running, and a restarted worker removes what a killed writer left.
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

from doppel.registry import Registry
from tests.integration.service import Process, Server, wait_for

TWIN = "allan-maverick"
TARGETS = ("child", "worker")
# The run's stages that are over in a moment, aimed at directly (writing the version, promoting, exporting).
STAGES = ("gate", "register", "export")


def kill_points(seed: int, count: int) -> list[tuple[str, float]]:
    rng = random.Random(seed)
    return [(rng.choice(TARGETS), round(rng.uniform(0.02, 1.1), 3)) for _ in range(count)]


def stage_points() -> list[tuple[str, str]]:
    return [(target, stage) for stage in STAGES for target in TARGETS]


def chaos_config(path: Path, home: Path, database_url: str, model_dir: Path) -> Path:
    path.write_text(
        f'home = "{home}"\ndatabase_url = "{database_url}"\nlog_level = "info"\n\n'
        "[service]\nheartbeat_seconds = 0.5\nstale_after_seconds = 3\ncancel_grace_seconds = 5\nmax_attempts = 3\n\n"
        "[schedule]\nenabled = false\n\n"
        f'[[twins]]\nname = "{TWIN}"\n[twins.base_model]\nname = "{model_dir}"\n'
        "[twins.training]\nmax_steps = 16\nmax_length = 128\neval_batches = 1\nlearning_rate = 0.02\n"
        "checkpoint_steps = 4\n[twins.promotion]\ntolerance = 10.0\n"
        '[twins.export]\nafter_promotion = true\nquant = "q8_0"\n'
    )
    return path


@dataclass
class Outcome:
    target: str
    at: float | str
    state: str
    attempts: int
    missed: bool  # the run had finished before the kill landed
    note: str = ""


@dataclass
class Chaos:
    config: Path
    home: Path
    database_url: str
    logs: Path
    api: Server = field(init=False)
    worker: Process = field(init=False)
    workers_started: int = 0
    duration: float = 0.0

    def __enter__(self) -> Chaos:
        self.api = Server(self.config, self.logs / "api.log", "--no-worker").wait_ready()
        self._start_worker()
        # An undisturbed run first: there is a final to protect, and its length places the kills.
        job = self.api.client.post("/api/train", json={}).json()["job_id"]
        done = self.api.wait_job(job, timeout=600)
        assert done["state"] == "succeeded", done
        self.duration = (_ts(done["finished_at"]) - _ts(done["started_at"])).total_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.worker.stop()
        self.api.stop()

    def _start_worker(self) -> None:
        self.workers_started += 1
        self.worker = Process(["worker", "--config", str(self.config)], self.logs / f"worker{self.workers_started}.log")

    def strike(self, target: str, at: float | str) -> Outcome:
        job = self.api.client.post("/api/train", json={}).json()["job_id"]
        wait_for(lambda: self.api.status(job_id=job)["state"] != "queued", 120, f"job {job} to start")
        if isinstance(at, str):  # the moment the run reports that stage (or ends without it)
            wait_for(lambda: self._reached(job, at), 300, f"job {job} to reach stage {at}", every=0.02)
        else:
            time.sleep(at * self.duration)
        status = self.api.status(job_id=job)
        missed = status["state"] not in ("queued", "running")
        trainer = self._run_pid(job)
        if target == "child" and trainer and not missed:
            _kill(trainer)
        elif target == "worker":
            self.worker.kill(signal.SIGKILL)
            self._start_worker()
        done = self.api.wait_job(job, timeout=600)
        if trainer:
            wait_for(lambda: not _running(trainer), 30, f"training process {trainer} to be gone")
        self.check(done)
        return Outcome(target, at, done["state"], done["attempts"], missed, done.get("error") or "")

    def check(self, done: dict) -> None:
        registry = Registry(self.home / "models")
        final = registry.final(TWIN)
        assert final is not None, "final must survive every kill"
        assert registry.verify(final) == [], f"final {final.name} does not verify"
        for version in registry.versions(TWIN):
            assert registry.verify(version) == [], f"{version.name} is listed but incomplete"
        assert done["state"] in ("succeeded", "failed"), done
        if done["state"] == "failed":
            assert done["error"], f"job {done['job_id']} failed without a reason"
        with psycopg.connect(self.database_url) as conn:
            active = conn.execute("SELECT count(*) FROM doppel.runs WHERE state IN ('queued', 'running')").fetchone()
        assert active[0] == 0, "a run was left queued or running"

    def leftovers_of_dead_writers(self) -> list[str]:
        folder = self.home / "models" / TWIN
        dead = []
        for entry in folder.iterdir():
            if entry.name.startswith(".incoming-"):
                pid = int(entry.name.split("-")[-2])
                if not _running(pid):
                    dead.append(entry.name)
        return dead

    def restart_worker(self) -> int:
        """Restart the worker and wait until it has removed the killed writers' leftovers; returns how many."""
        before = len(self.leftovers_of_dead_writers())
        self.worker.stop()
        self._start_worker()
        wait_for(lambda: not self.leftovers_of_dead_writers(), 60, "the new worker to remove killed writers' leftovers")
        return before

    def _reached(self, job: int, stage: str) -> bool:
        status = self.api.status(job_id=job)
        return status["stage"] == stage or status["state"] not in ("queued", "running")

    def _run_pid(self, job: int) -> int | None:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute("SELECT pid FROM doppel.runs WHERE id = %s", (job,)).fetchone()
        return row[0] if row else None


def _kill(pid: int) -> None:
    try:
        psutil.Process(pid).send_signal(signal.SIGKILL)
    except psutil.NoSuchProcess:
        pass


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _ts(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value)
