"""Loaded twins for answering requests: one per twin, reopened when ``final`` moves (no restart)."""

from __future__ import annotations

import threading

from doppel.config import Settings
from doppel.registry import Registry


class ModelCache:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._twins: dict[str, object] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, twin_name: str):
        """The twin's final version as a :class:`doppel.twin.Twin`; opened at most once per version."""
        from doppel.twin import Twin

        version = Registry(self.settings.resolved_models_dir).get(twin_name)
        with self._lock:
            lock = self._locks.setdefault(twin_name, threading.Lock())
        # Per-twin lock: loading one twin does not hold up requests to another.
        with lock:
            loaded = self._twins.get(twin_name)
            if loaded is None or loaded.version != version.name:
                if loaded is not None:
                    loaded.close()
                loaded = Twin.load(twin_name, version=version.name, config=self.settings)
                self._twins[twin_name] = loaded
            return loaded

    def close(self) -> None:
        with self._lock:
            for twin in self._twins.values():
                twin.close()
            self._twins.clear()
