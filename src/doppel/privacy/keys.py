"""The per-twin secret behind the fakes: the same real value gets the same fake in every run of one twin.

It lives outside every version folder (``<home>/secrets/<twin>/privacy.key`` by default), so a version
that is exported or copied carries no way to tell which fake stands for whom.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from doppel.config import Settings, TwinConfig

KEY_BYTES = 32


class PrivacyKeyError(RuntimeError):
    """The key file exists but cannot be used; the message names it."""


def key_path(settings: Settings, twin: TwinConfig) -> Path:
    return twin.privacy.key_file or settings.home / "secrets" / twin.name / "privacy.key"


def load_or_create_key(path: Path) -> bytes:
    """The key at ``path``; made (random, mode 0600) when there is none yet. Two processes racing to make
    it end up with the same key: the file is created exclusively and the loser reads the winner's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() fails if the key appeared meanwhile: the first key made is the one every run uses.
            with contextlib.suppress(FileExistsError):
                os.link(fresh, path)
        finally:
            fresh.unlink(missing_ok=True)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise PrivacyKeyError(f"cannot read the privacy key {path}: {exc.strerror or exc}") from exc
    if len(key) < 16:
        raise PrivacyKeyError(
            f"the privacy key {path} holds {len(key)} bytes (at least 16 needed); restore it from a backup, or "
            "delete it to start a new one (every fake then changes, so retrain fully)"
        )
    return key


def twin_key(settings: Settings, twin: TwinConfig) -> bytes:
    return load_or_create_key(key_path(settings, twin))
