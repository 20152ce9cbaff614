"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything is written to a hidden sibling (``.<name>.<pid>-<random>.tmp``, same folder, so the
rename stays on one filesystem and is atomic) and renamed over the target with ``os.replace`` only
once complete. On any failure the sibling is removed and the old file is left as it was.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _sibling(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary sibling of ``path`` for a writer that takes a path (a subprocess, a library).

    When the block ends without an exception, the file written there replaces ``path``; the sibling
    is removed in any case (so a writer that failed leaves nothing behind).
    """
    target = Path(path)
    tmp = _sibling(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(
    path: str | os.PathLike[str], *, binary: bool = False, encoding: str = "utf-8", mode: int | None = None
) -> Iterator[IO[Any]]:
    """A file open for writing whose content replaces ``path`` when the block ends without an exception.

    The data is flushed and fsynced before the rename. ``mode`` sets the file's permissions exactly
    (e.g. ``0o600`` for a secret, ``0o644`` for a page meant to be shared); without it they are what a
    plain ``open(path, "w")`` would give (0o666 less the umask).
    """
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        if mode is not None:
            try:
                os.fchmod(fd, mode)
            except BaseException:
                os.close(fd)
                raise
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a folder's entries (a rename into it, a new link) durable: without this a power cut can
    keep the renamed name but lose what it points to."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: str | os.PathLike[str]) -> None:
    """fsync every file under ``root``, then every folder, deepest first (before ``root`` is renamed)."""
    folders = []
    for here, _dirs, files in os.walk(root):
        folders.append(here)
        for name in files:
            fd = os.open(os.path.join(here, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for folder in reversed(folders):
        fsync_dir(folder)


def atomic_write(
    path: str | os.PathLike[str], data: str | bytes, *, encoding: str = "utf-8", mode: int | None = None
) -> Path:
    """Write ``data`` (text in ``encoding``, or bytes) to ``path`` atomically; returns the path."""
    with atomic_open(path, binary=isinstance(data, bytes), encoding=encoding, mode=mode) as f:
        f.write(data)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, mode: int | None = None, **dumps: Any) -> Path:
    """``json.dumps(obj, **dumps)`` written to ``path`` atomically; returns the path."""
    return atomic_write(path, json.dumps(obj, **dumps), mode=mode)


__all__ = ["atomic_open", "atomic_path", "atomic_write", "atomic_write_json", "fsync_dir", "fsync_tree"]
