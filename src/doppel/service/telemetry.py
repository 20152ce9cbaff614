"""GPU memory through NVML, and the Prometheus exposition of doppel's state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from doppel.config import Settings
from doppel.db import SCHEMA, Database
from doppel.registry import Registry
from doppel.runs import STATES


def gpu_memory() -> dict:
    """Per-GPU memory used and free, or why there is none to report."""
    try:
        import pynvml  # from nvidia-ml-py, on GPU nodes
    except ImportError:
        return {"available": False, "detail": "NVML not installed (pip install nvidia-ml-py on GPU nodes)"}
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError: no driver, no device
        return {"available": False, "detail": f"NVML: {exc}"}
    try:
        devices = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            devices.append(
                {
                    "index": i,
                    "name": name if isinstance(name, str) else name.decode(),
                    "used_bytes": mem.used,
                    "free_bytes": mem.free,
                    "total_bytes": mem.total,
                }
            )
        return {"available": True, "devices": devices}
    finally:
        pynvml.nvmlShutdown()


class _Collector:
    """Reads the database at scrape time, so several API processes report the same numbers."""

    def __init__(self, settings: Settings, db: Database):
        self.settings, self.db = settings, db

    def collect(self):
        runs = GaugeMetricFamily("doppel_runs", "Training runs by twin and state", labels=["twin", "state"])
        step = GaugeMetricFamily(
            "doppel_training_step_seconds", "Mean seconds per step of the running job", labels=["twin"]
        )
        last = GaugeMetricFamily(
            "doppel_last_success_timestamp_seconds", "When the last run succeeded", labels=["twin"]
        )
        depth = GaugeMetricFamily("doppel_queue_depth", "Training jobs waiting in the queue")
        versions = GaugeMetricFamily("doppel_versions", "Versions on disk", labels=["twin"])
        final = GaugeMetricFamily(
            "doppel_final_val_loss", "Validation loss of the final version", labels=["twin", "version"]
        )
        with self.db.connection() as conn:
            counts = dict(
                ((t, s), n)
                for t, s, n in conn.execute(
                    f"SELECT twin, state, count(*) FROM {SCHEMA}.runs GROUP BY twin, state"
                ).fetchall()
            )
            running = conn.execute(
                f"SELECT twin, (progress->>'step_seconds')::float FROM {SCHEMA}.runs WHERE state = 'running'"
            ).fetchall()
            successes = conn.execute(
                f"SELECT twin, extract(epoch FROM max(finished_at)) FROM {SCHEMA}.runs "
                f"WHERE state = 'succeeded' GROUP BY twin"
            ).fetchall()
            waiting = conn.execute(
                f"SELECT count(*) FROM {SCHEMA}.procrastinate_jobs WHERE status = 'todo'"
            ).fetchone()[0]
        for twin in self.settings.twins:
            for state in STATES:
                runs.add_metric([twin.name, state], counts.get((twin.name, state), 0))
        for twin, seconds in running:
            if seconds is not None:
                step.add_metric([twin], seconds)
        for twin, stamp in successes:
            last.add_metric([twin], float(stamp))
        depth.add_metric([], waiting)
        registry = Registry(self.settings.resolved_models_dir)
        for twin in self.settings.twins:
            versions.add_metric([twin.name], len(registry.versions(twin.name)))
            current = registry.final(twin.name)
            if current is not None and current.metrics.get("val_loss") is not None:
                final.add_metric([twin.name, current.name], current.metrics["val_loss"])
        yield from (runs, step, last, depth, versions, final)


def prometheus_text(settings: Settings, db: Database) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(settings, db))
    return generate_latest(registry)
