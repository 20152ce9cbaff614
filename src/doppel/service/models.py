"""Loaded twins for answering requests: one per twin, reloaded when ``final`` moves (no restart)."""

from __future__ import annotations

import threading

from doppel.config import Settings
from doppel.registry import Registry


class ModelCache:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, twin_name: str):
        """The twin's final version, loaded; the load happens at most once per version."""
        from doppel.inference.local import LocalTwin

        version = Registry(self.settings.resolved_models_dir).get(twin_name)
        with self._lock:
            loaded = self._models.get(twin_name)
            if loaded is None or loaded.version is None or loaded.version.name != version.name:
                twin = self.settings.twin(twin_name)
                loaded = LocalTwin.load(self.settings, twin, version.name)
                self._models[twin_name] = loaded
            return loaded
