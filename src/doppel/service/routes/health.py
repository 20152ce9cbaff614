"""Health (no token needed: load balancers ask it) and Prometheus metrics."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from doppel.db import SCHEMA
from doppel.jobs.queue import TRAINING_QUEUE
from doppel.service.state import READ, State
from doppel.service.telemetry import gpu_memory, prometheus_text

router = APIRouter(tags=["health"])


def _health(state: State) -> dict:
    report: dict = {"status": "ok"}
    try:
        with state.db.connection() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            alive, last = conn.execute(
                f"SELECT count(*), max(last_heartbeat) FROM {SCHEMA}.procrastinate_workers "
                f"WHERE last_heartbeat > now() - make_interval(secs => %s)",
                (state.settings.service.stale_after_seconds,),
            ).fetchone()
            depth = conn.execute(
                f"SELECT count(*) FROM {SCHEMA}.procrastinate_jobs WHERE status = 'todo' AND queue_name = %s",
                (TRAINING_QUEUE,),
            ).fetchone()[0]
            active = conn.execute(f"SELECT count(*) FROM {SCHEMA}.runs WHERE state = 'running'").fetchone()[0]
        report["database"] = {"ok": True, "detail": f"{state.db.describe()}, PostgreSQL {version}"}
        report["worker"] = {"alive": alive > 0, "workers": alive, "last_heartbeat": last}
        report["queue"] = {"depth": depth, "running": active}
        if not alive:
            report["status"] = "degraded"
    except Exception as exc:  # health must answer even when the database does not
        report["status"] = "down"
        report["database"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    report["gpu"] = gpu_memory()
    usage = shutil.disk_usage(state.settings.home)
    report["disk"] = {"path": str(state.settings.home), "free_bytes": usage.free, "total_bytes": usage.total}
    return report


@router.get("/api/health")
async def health(state: State) -> dict:
    """Database, worker alive, queue depth, GPU memory (NVML), disk."""
    return await run_in_threadpool(_health, state)


@router.get("/metrics", dependencies=[READ], response_class=Response)
async def metrics(state: State) -> Response:
    """Prometheus text: runs by state, step time, last success, versions, queue depth."""
    text = await run_in_threadpool(prometheus_text, state.settings, state.db)
    return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")
