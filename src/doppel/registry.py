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

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal

from doppel.digests import sha256_file

FINAL = "final"
MANIFEST = "manifest.json"
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

    def next_name(self, twin: str, mode: Mode) -> str:
        versions = self.versions(twin)
        if not versions:
            return "v1.0"
        major, minor = versions[-1].number
        return f"v{major + 1}.0" if mode == "full" else f"v{major}.{minor + 1}"

    def register(self, twin: str, write: Callable[[Path], None], *, mode: Mode, manifest: dict) -> Version:
        """Write a new version through ``write(folder)``; it becomes visible only once complete."""
        folder = self.twin_dir(twin)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".incoming-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            write(tmp)
            for _attempt in range(100):
                name = self.next_name(twin, mode)
                full_manifest = {
                    "twin": twin,
                    "version": name,
                    "mode": mode,
                    "created_at": datetime.now(timezone.utc).isoformat(),
                    **manifest,
                    "files": _file_hashes(tmp),
                }
                (tmp / MANIFEST).write_text(json.dumps(full_manifest, indent=2, default=str))
                try:
                    # rename() refuses an existing non-empty target: two writers can't take one name.
                    os.rename(tmp, folder / name)
                except OSError:
                    if (folder / name).exists():
                        continue
                    raise
                return Version(twin, name, folder / name)
            raise RegistryError(f"could not allocate a version name for {twin!r}")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def promote(self, twin: str, name: str) -> Version:
        """Point ``final`` at version ``name`` (atomically: a reader sees the old or the new one)."""
        version = self.get(twin, name)
        link = self.twin_dir(twin) / FINAL
        tmp = link.with_name(f".final-{os.getpid()}")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(version.name, target_is_directory=True)
        os.replace(tmp, link)
        return version

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
