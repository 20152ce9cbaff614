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

from doppel.atomic import atomic_write_json, fsync_dir, fsync_tree
from doppel.digests import sha256_file

FINAL = "final"
MANIFEST = "manifest.json"
HISTORY = "history.jsonl"  # one line per change of final
# Versions trained on records someone asked to be forgotten: {"versions": {"v1.0": [request ids]}}.
FORGOTTEN = "forgotten.json"
# Names of deleted versions, one per line: a name is never given to a second version.
DELETED = "deleted.jsonl"
# A version being written: <host>-<pid> says whose, so a leftover can be told from a writer at work.
# A version being deleted is renamed the same way first (.deleting-...).
_INCOMING = re.compile(r"^\.(?:incoming|deleting)-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{32}$")
_HOST = os.uname().nodename.replace("-", "_")
_VERSION = re.compile(r"^v(\d+)\.(\d+)$")

Mode = Literal["full", "incremental", "preference"]


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
        """Full runs take the next major number (v2.0); an incremental or preference run
        continuing from ``parent`` takes the next minor number of the parent's major (v1.0 → v1.1)."""
        numbers = [v.number for v in self.versions(twin)] + self._deleted_numbers(twin)
        if not numbers:
            return "v1.0"
        if mode == "full" or parent is None:
            return f"v{max(n[0] for n in numbers) + 1}.0"
        major = Version(twin, parent, self.twin_dir(twin) / parent).number[0]
        minor = max(n[1] for n in numbers if n[0] == major)
        return f"v{major}.{minor + 1}"

    def _deleted_numbers(self, twin: str) -> list[tuple[int, int]]:
        path = self.twin_dir(twin) / DELETED
        if not path.is_file():
            return []
        names = (json.loads(line)["version"] for line in path.read_text().splitlines() if line.strip())
        return [(int(m.group(1)), int(m.group(2))) for m in map(_VERSION.match, names) if m]

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
        self._append(twin, HISTORY, {"version": version, "at": datetime.now(UTC).isoformat(), "reason": reason})

    def _append(self, twin: str, file: str, entry: dict) -> None:
        line = json.dumps(entry)
        # O_APPEND writes of one short line do not interleave between processes.
        fd = os.open(self.twin_dir(twin) / file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def write_forgotten_marks(self, twin: str, marks: dict[str, list[int]]) -> None:
        """Which versions hold forgotten records (doppel.privacy.forget computes it from the database).

        Kept beside the versions rather than in them: a version folder never changes after it is written.
        """
        folder = self.twin_dir(twin)
        if not folder.is_dir() and not marks:
            return
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / FORGOTTEN, {"versions": marks}, sort_keys=True)

    def forgotten_marks(self, twin: str) -> dict[str, list[int]]:
        """Version name -> the forget requests whose records it was trained on (empty: none)."""
        path = self.twin_dir(twin) / FORGOTTEN
        if not path.is_file():
            return {}
        return json.loads(path.read_text()).get("versions", {})

    def delete(self, twin: str, name: str) -> Version:
        """Remove a version's folder. ``final`` never: the version in use stays until another is final."""
        version = self.get(twin, name)
        final = self.final(twin)
        if final is not None and final.name == version.name:
            raise RegistryError(
                f"{version.name} is final for twin {twin!r}: promote or roll back to another version first"
            )
        self._append(twin, DELETED, {"version": version.name, "at": datetime.now(UTC).isoformat()})
        # Renamed out of sight first, so readers never see half a folder; then removed.
        doomed = version.path.with_name(f".deleting-{_HOST}-{os.getpid()}-{uuid.uuid4().hex}")
        os.replace(version.path, doomed)
        fsync_dir(doomed.parent)
        shutil.rmtree(doomed, ignore_errors=True)
        marks = self.forgotten_marks(twin)
        if marks.pop(version.name, None) is not None:
            self.write_forgotten_marks(twin, marks)
        return version

    def describe(self, twin: str) -> list[dict]:
        """Every version with its headline metrics, oldest first; what `doppel versions` and the API list."""
        final = self.final(twin)
        forgotten = self.forgotten_marks(twin)
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
                    # Preference versions: the feedback pairs learned from, and the held-out preference accuracy.
                    "preference_pairs": m.get("preference_pairs"),
                    "preference_accuracy": m.get("preference_accuracy"),
                    "gate": manifest.get("gate"),
                    "data_until": manifest.get("data_until"),
                    # The forget requests whose records this version learned from (empty: none).
                    "forgotten": forgotten.get(v.name, []),
                    "privacy": manifest.get("privacy"),
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
