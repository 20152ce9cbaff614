"""Versions of a twin on disk: immutable folders ``<models_dir>/<twin>/vX.Y/`` and a ``final`` link.

Layout (the seed's)::

    <models_dir>/allan-maverick/
        v1.0/    adapter/ tokenizer/ config.json dataset_card.{json,md} metrics.json manifest.json
        v1.1/
        final -> v1.1      (a relative symlink, readable by tools outside doppel)

A version is written into a hidden temporary folder and renamed into place
only when complete, with its manifest (file hashes) written last: a crash
never leaves a half version visible, and readers skip anything hidden.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import psutil

from doppel.atomic import fsync_dir, fsync_tree
from doppel.digests import sha256_file

FINAL = "final"
MANIFEST = "manifest.json"
HISTORY = "history.jsonl"  # one line per change of final
# A version being written: <host>-<pid> says whose, so a leftover can be told from a writer at work.
_INCOMING = re.compile(r"^\.incoming-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{32}$")
_HOST = os.uname().nodename.replace("-", "_")
_VERSION = re.compile(r"^v(\d+)\.(\d+)$")

Mode = Literal["full", "incremental"]


class RegistryError(ValueError):
    """A version that does not exist, or a registry that cannot be written."""


@dataclass(frozen=True)
class Version:
    twin: str
    name: str
    path: Path

    @property
    def number(self) -> tuple[int, int]:
        match = _VERSION.match(self.name)
        assert match, self.name
        return int(match.group(1)), int(match.group(2))

    def read_json(self, name: str) -> dict:
        path = self.path / name
        return json.loads(path.read_text()) if path.is_file() else {}

    @property
    def manifest(self) -> dict:
        return self.read_json(MANIFEST)

    @property
    def metrics(self) -> dict:
        return self.read_json("metrics.json")

    @property
    def adapter_dir(self) -> Path:
        return self.path / "adapter"

    @property
    def tokenizer_dir(self) -> Path:
        return self.path / "tokenizer"


def _file_hashes(folder: Path) -> dict[str, dict]:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != MANIFEST:
            files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return files


class Registry:
    def __init__(self, models_dir: Path):
        self.models_dir = Path(models_dir)

    def twin_dir(self, twin: str) -> Path:
        return self.models_dir / twin

    def versions(self, twin: str) -> list[Version]:
        """Complete versions, oldest first."""
        folder = self.twin_dir(twin)
        if not folder.is_dir():
            return []
        found = [
            Version(twin, p.name, p)
            for p in folder.iterdir()
            if _VERSION.match(p.name) and p.is_dir() and not p.is_symlink() and (p / MANIFEST).is_file()
        ]
        return sorted(found, key=lambda v: v.number)

    def final(self, twin: str) -> Version | None:
        link = self.twin_dir(twin) / FINAL
        if not link.is_symlink() and not link.exists():
            return None
        target = Path(os.readlink(link)).name if link.is_symlink() else None
        if target is None or not (self.twin_dir(twin) / target / MANIFEST).is_file():
            return None
        return Version(twin, target, self.twin_dir(twin) / target)

    def get(self, twin: str, name: str = FINAL) -> Version:
        if name == FINAL:
            version = self.final(twin)
            if version is None:
                raise RegistryError(f"twin {twin!r} has no final version yet; train one first (doppel train)")
            return version
        for version in self.versions(twin):
            if version.name == name:
                return version
        known = ", ".join(v.name for v in self.versions(twin)) or "none"
        raise RegistryError(f"twin {twin!r} has no version {name!r}; versions: {known}")

    def next_name(self, twin: str, mode: Mode, parent: str | None = None) -> str:
        """Full runs take the next major number (v2.0); an incremental run continuing
        from ``parent`` takes the next minor number of the parent's major (v1.0 → v1.1)."""
        versions = self.versions(twin)
        if not versions:
            return "v1.0"
        if mode == "full" or parent is None:
            return f"v{versions[-1].number[0] + 1}.0"
        major = Version(twin, parent, self.twin_dir(twin) / parent).number[0]
        minor = max(v.number[1] for v in versions if v.number[0] == major)
        return f"v{major}.{minor + 1}"

    def register(
        self, twin: str, write: Callable[[Path], None], *, mode: Mode, manifest: dict, parent: str | None = None
    ) -> Version:
        """Write a new version through ``write(folder)``; it becomes visible only once complete."""
        folder = self.twin_dir(twin)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".incoming-{_HOST}-{os.getpid()}-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            write(tmp)
            for _attempt in range(100):
                name = self.next_name(twin, mode, parent)
                full_manifest = {
                    "twin": twin,
                    "version": name,
                    "mode": mode,
                    "parent": parent,
                    "created_at": datetime.now(UTC).isoformat(),
                    **manifest,
                    "files": _file_hashes(tmp),
                }
                (tmp / MANIFEST).write_text(json.dumps(full_manifest, indent=2, default=str))
                # Every byte on disk before the name appears: a power cut cannot leave a renamed, empty version.
                fsync_tree(tmp)
                try:
                    # rename() refuses an existing non-empty target: two writers can't take one name.
                    os.rename(tmp, folder / name)
                except OSError:
                    if (folder / name).exists():
                        continue
                    raise
                fsync_dir(folder)
                return Version(twin, name, folder / name)
            raise RegistryError(f"could not allocate a version name for {twin!r}")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def promote(self, twin: str, name: str, *, reason: str = "promoted") -> Version:
        """Point ``final`` at version ``name`` (atomically: a reader sees the old or the new one)."""
        version = self.get(twin, name)
        previous = self.final(twin)
        self._point_final(twin, version.name)
        try:
            self._log_history(twin, version.name, reason)
        except OSError:
            # History is what rollback reads: a final it does not record must not stay final.
            if previous is not None:
                with contextlib.suppress(OSError):
                    self._point_final(twin, previous.name)
            raise
        return version

    def _point_final(self, twin: str, name: str) -> None:
        link = self.twin_dir(twin) / FINAL
        tmp = link.with_name(f".final-{uuid.uuid4().hex}")
        try:
            tmp.symlink_to(name, target_is_directory=True)
            os.replace(tmp, link)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(link.parent)

    def clean_leftovers(self, twin: str) -> list[str]:
        """Remove what a killed writer left (its ``.incoming-*`` folder, a ``.final-*`` link); returns the names.

        Only this host's leftovers whose process is gone: a version another live process is writing,
        here or on another host sharing the folder, is left alone.
        """
        folder = self.twin_dir(twin)
        if not folder.is_dir():
            return []
        removed = []
        for entry in folder.iterdir():
            match = _INCOMING.match(entry.name)
            if match and match["host"] == _HOST and not psutil.pid_exists(int(match["pid"])):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
            elif entry.name.startswith(".final-") and entry.is_symlink():
                entry.unlink(missing_ok=True)
                removed.append(entry.name)
        return removed

    def history(self, twin: str) -> list[dict]:
        """Every change of ``final``, oldest first."""
        path = self.twin_dir(twin) / HISTORY
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def rollback(self, twin: str) -> Version:
        """Make final the version that was final before the current one."""
        current = self.final(twin)
        if current is None:
            raise RegistryError(f"twin {twin!r} has no final version to roll back from")
        existing = {v.name for v in self.versions(twin)}
        for entry in reversed(self.history(twin)):
            if entry["version"] != current.name and entry["version"] in existing:
                return self.promote(twin, entry["version"], reason=f"rollback from {current.name}")
        raise RegistryError(f"twin {twin!r} has no earlier final version to roll back to")

    def _log_history(self, twin: str, version: str, reason: str) -> None:
        line = json.dumps({"version": version, "at": datetime.now(UTC).isoformat(), "reason": reason})
        # O_APPEND writes of one short line do not interleave between processes.
        fd = os.open(self.twin_dir(twin) / HISTORY, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def describe(self, twin: str) -> list[dict]:
        """Every version with its headline metrics, oldest first; what `doppel versions` and the API list."""
        final = self.final(twin)
        rows = []
        for v in self.versions(twin):
            m, manifest = v.metrics, v.manifest
            rows.append(
                {
                    "version": v.name,
                    "final": final is not None and final.name == v.name,
                    "created_at": manifest.get("created_at"),
                    "mode": manifest.get("mode"),
                    "parent": manifest.get("parent"),
                    "base_model": manifest.get("base_model", {}).get("name"),
                    "train_loss": m.get("train_loss"),
                    "val_loss": m.get("val_loss"),
                    "val_perplexity": m.get("val_perplexity"),
                    "base_val_loss": m.get("base_val_loss"),
                    "examples": m.get("examples"),
                    "steps": m.get("steps"),
                    "gate": manifest.get("gate"),
                    "data_until": manifest.get("data_until"),
                    "path": str(v.path),
                }
            )
        return rows

    def verify(self, version: Version) -> list[str]:
        """Files whose hash differs from the manifest (or that are missing); empty when intact."""
        problems = []
        for rel, info in version.manifest.get("files", {}).items():
            path = version.path / rel
            if not path.is_file():
                problems.append(f"{rel}: missing")
            elif sha256_file(path) != info["sha256"]:
                problems.append(f"{rel}: changed")
        return problems
