"""Loaded twins for answering requests, one per (twin, version); a new ``final`` is picked up without a restart.

A request names a version or gets ``final``. What stays loaded for a twin is its
current final and the other version asked for most recently (``keep_other``);
the rest are closed at the twin's next request, so memory follows what is used.
"""

from __future__ import annotations

import threading

from doppel.config import Settings
from doppel.registry import FINAL, Registry


class ModelCache:
    def __init__(self, settings: Settings, keep_other: int = 1):
        self.settings = settings
        self.keep_other = keep_other
        self._recent: dict[str, list[str]] = {}  # per twin: versions other than final, least recent first
        self._twins: dict[tuple[str, str], object] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, twin_name: str, version: str | None = None):
        """A version of the twin (default: final) as a :class:`doppel.twin.Twin`; opened at most once.

        Raises :class:`doppel.registry.RegistryError` for a version the twin does not have.
        """
        from doppel.twin import Twin

        registry = Registry(self.settings.resolved_models_dir)
        wanted = registry.get(twin_name, version or FINAL)
        final = registry.final(twin_name)
        key = (twin_name, wanted.name)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        # Per-version lock: loading one does not hold up requests to another twin or version.
        with lock:
            loaded = self._twins.get(key)
            if loaded is None:
                loaded = Twin.load(twin_name, version=wanted.name, config=self.settings)
            with self._lock:
                self._twins[key] = loaded
                recent = self._recent.setdefault(twin_name, [])
                if final is None or wanted.name != final.name:
                    if wanted.name in recent:
                        recent.remove(wanted.name)
                    recent.append(wanted.name)
                recent[:] = [name for name in recent if final is None or name != final.name]
                del recent[: max(0, len(recent) - self.keep_other)]
                keep = {wanted.name, *recent, *([final.name] if final is not None else [])}
                stale = [k for k in self._twins if k[0] == twin_name and k[1] not in keep]
                closing = [self._twins.pop(k) for k in stale]
        for twin in closing:
            twin.close()
        return loaded

    def loaded(self) -> list[tuple[str, str]]:
        """(twin, version) pairs now in memory."""
        with self._lock:
            return sorted(self._twins)

    def close(self) -> None:
        with self._lock:
            twins = list(self._twins.values())
            self._twins.clear()
        for twin in twins:
            twin.close()
