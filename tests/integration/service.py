"""Start real `doppel serve` / `doppel worker` processes for API tests, and talk to them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fakes.ports import free_port


def wait_for(predicate, timeout: float, what: str, every: float = 0.2):
    """Poll until ``predicate()`` returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Process:
    def __init__(self, args: list[str], log: Path, env: dict | None = None):
        self.log_path = log
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "doppel", *args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()


class Server(Process):
    def __init__(self, config: Path, log: Path, *extra: str, host: str = "127.0.0.1", env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", "--config", str(config), "--host", host, "--port", str(self.port), *extra], log, env)
        self.client = httpx.Client(base_url=self.base, timeout=60)

    def wait_ready(self, timeout: float = 60) -> Server:
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.output()[-3000:]}")
            try:
                return self.client.get("/api/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout, "the server to answer /api/health")
        return self

    def status(self, twin: str | None = None, **params) -> dict:
        r = self.client.get("/api/training/status", params={"twin": twin, **params} if twin else params)
        assert r.status_code == 200, r.text
        return r.json()

    def wait_job(self, job_id: int, states=("succeeded", "failed", "cancelled"), timeout: float = 180) -> dict:
        def reached():
            status = self.status(job_id=job_id)
            return status if status["state"] in states else None

        return wait_for(reached, timeout, f"job {job_id} to reach {states}", every=0.3)

    def stop(self) -> None:
        self.client.close()
        super().stop()


def serve_trained_twin(settings, pg_server, folder: Path, *, service: str = "", inference: str = "") -> Server:
    """`doppel serve` over an already trained twin's home, with a fresh database of its own."""
    import uuid

    import psycopg

    name = f"serve_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    config = folder / "doppel.toml"
    config.write_text(
        f'home = "{settings.home}"\ndatabase_url = "{pg_server.get_uri(name)}"\n'
        f"[service]\n{service}\n[schedule]\nenabled = false\n\n"
        f'[[twins]]\nname = "{settings.twins[0].name}"\n[twins.inference]\n{inference}\n'
    )
    server = Server(config, folder / "serve.log").wait_ready()
    server.client.timeout = httpx.Timeout(120)
    return server
