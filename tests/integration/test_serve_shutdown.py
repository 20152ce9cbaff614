"""`doppel serve` on the embedded PostgreSQL, stopped with SIGTERM, leaves no process behind."""

from __future__ import annotations

import psutil

from tests.integration.service import Server, wait_for


def _processes_on(pgdata) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if str(pgdata) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_sigterm_stops_serve_and_its_embedded_postgres(tmp_path):
    home = tmp_path / "home"
    config = tmp_path / "doppel.toml"
    config.write_text(f'home = "{home}"\n[schedule]\nenabled = false\n[[twins]]\nname = "a"\n')
    server = Server(config, tmp_path / "serve.log").wait_ready(timeout=180)
    pgdata = home / "pgdata"
    assert _processes_on(pgdata), "the embedded PostgreSQL should be running for serve"
    server.proc.terminate()
    assert server.proc.wait(timeout=60) == 0, server.output()[-2000:]
    wait_for(lambda: not _processes_on(pgdata), 30, "the embedded PostgreSQL to stop")
    server.stop()
