"""Push an export to Ollama hosts over Ollama's HTTP API: the GGUF as a blob, then one model per tag.

Per host: ``HEAD /api/blobs/sha256:<digest>``; ``POST`` the file (streamed from disk) only when the
host lacks it; then ``POST /api/create`` with ``files`` naming that blob and the template, system
prompt and parameters from the export's ``ollama.json``. Hosts are pushed in parallel, and one host
down, slow or failing never stops the others: each gets its own :class:`HostResult`. Running it
again uploads nothing a host already has, so it is safe to repeat after a partial failure.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from doppel.atomic import atomic_write

CHUNK = 1 << 20
OLLAMA_PORT = 11434
# Fields of ollama.json passed through to /api/create as they are (docs/api.md "Create a Model").
CREATE_KEYS = ("template", "system", "parameters", "license", "messages")

Progress = Callable[[str, int, int], None]


@dataclass
class HostResult:
    """What happened on one host. ``uploaded``/``skipped``: bytes sent / bytes the host already had."""

    host: str
    ok: bool = False
    uploaded: int = 0
    skipped: int = 0
    seconds: float = 0.0
    error: str | None = None
    created: list[str] = field(default_factory=list)


class _HostError(Exception):
    pass


def host_url(host: str) -> str:
    """As the ollama CLI reads OLLAMA_HOST: ``gpu1`` -> ``http://gpu1:11434``; a URL with a scheme stays as given."""
    url = host.strip().rstrip("/")
    if "://" in url:
        return url
    head, _, path = url.partition("/")
    if ":" not in head.rsplit("]", 1)[-1]:
        head = f"{head}:{OLLAMA_PORT}"
    return f"http://{head}" + (f"/{path}" if path else "")


def _hash_file(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            sha.update(block)
    return sha.hexdigest()


def file_sha256(path: Path) -> str:
    """The file's SHA-256, cached in ``<file>.sha256`` keyed by size and mtime.

    Hashing a multi-GB GGUF takes seconds to minutes; the cache makes re-runs instant. The sidecar is
    ``sha256sum`` format (``sha256sum -c`` checks it; it skips the ``#`` line holding the key).
    """
    path = Path(path)
    stat = path.stat()
    key = f"# size={stat.st_size} mtime_ns={stat.st_mtime_ns}"
    sidecar = path.with_name(path.name + ".sha256")
    try:
        first, second = sidecar.read_text().splitlines()[:2]
        digest = first.split()[0]
        if second == key and len(digest) == 64:
            return digest
    except (OSError, ValueError, IndexError):
        pass
    digest = _hash_file(path)
    try:  # a cache only: a read-only export folder just means hashing again next time
        atomic_write(sidecar, f"{digest}  {path.name}\n{key}\n")
    except OSError:
        pass
    return digest


def _describe(resp: httpx.Response) -> str:
    try:
        message = resp.json().get("error") or resp.text
    except ValueError:
        message = resp.text
    return f"HTTP {resp.status_code}: {(message or resp.reason_phrase).strip()[:300]}"


def _file_chunks(path: Path, host: str, total: int, progress: Progress | None) -> Iterator[bytes]:
    done = 0
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            done += len(block)
            yield block
            if progress:
                progress(host, done, total)


def _create(client: httpx.Client, body: dict) -> None:
    """POST /api/create and read its NDJSON progress to the end: "success" or the error it reports."""
    with client.stream("POST", "/api/create", json=body) as resp:
        if resp.status_code != 200:
            resp.read()
            raise _HostError(_describe(resp))
        last = None
        for line in resp.iter_lines():
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                raise _HostError(f"not an Ollama answer: {line[:200]!r}") from None
            if message.get("error"):  # errors after validation come in the stream, with HTTP 200
                raise _HostError(str(message["error"]))
            last = message.get("status")
        if last != "success":
            raise _HostError(f"create ended without success (last status {last!r})")


def _push(
    host: str, gguf: Path, digest: str, request: dict, names: list[str], timeout: float, progress: Progress | None
) -> HostResult:
    result = HostResult(host=host)
    started = time.monotonic()
    size = gguf.stat().st_size
    stage = "checking the blob"
    try:
        with httpx.Client(base_url=host_url(host), timeout=httpx.Timeout(timeout)) as client:
            blob = f"/api/blobs/sha256:{digest}"
            head = client.head(blob)
            if head.status_code == 200:
                result.skipped = size
                if progress:
                    progress(host, size, size)
            elif head.status_code == 404:
                stage = "uploading the GGUF"
                # Content-Length set, so httpx streams the file in chunks instead of reading it whole.
                resp = client.post(
                    blob,
                    content=_file_chunks(gguf, host, size, progress),
                    headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
                )
                if resp.status_code not in (200, 201):
                    raise _HostError(_describe(resp))
                result.uploaded = size if resp.status_code == 201 else 0
            else:
                raise _HostError(_describe(head))
            for name in names:
                stage = f"creating {name}"
                _create(client, {"model": name, **request})
                result.created.append(name)
        result.ok = True
    except _HostError as exc:
        result.error = f"{stage}: {exc}"
    except httpx.TimeoutException:
        result.error = f"{stage}: no answer within {timeout:g} s"
    except httpx.ConnectError as exc:
        result.error = f"{stage}: cannot connect to {host_url(host)} ({exc})"
    except httpx.HTTPError as exc:
        result.error = f"{stage}: {type(exc).__name__}: {exc}"
    except OSError as exc:  # the local file, mid-upload
        result.error = f"{stage}: {exc}"
    result.seconds = time.monotonic() - started
    return result


def distribute(
    export_folder: Path,
    hosts: list[str],
    model: str,
    tags: list[str],
    *,
    timeout: float = 600,
    progress: Progress | None = None,
) -> list[HostResult]:
    """Create ``model:<tag>`` for every tag on every host from ``export_folder``; one result per host, in order.

    ``timeout``: seconds any one network step (connect, a chunk sent, a line read) may stall.
    ``progress(host, done_bytes, total_bytes)`` is called from the hosts' threads as the upload goes.
    Raises FileNotFoundError / ValueError for a broken export folder (nothing is sent then).
    """
    export_folder = Path(export_folder)
    spec_path = export_folder / "ollama.json"
    spec = json.loads(spec_path.read_text())
    if not spec.get("gguf"):
        raise ValueError(f"{spec_path} names no GGUF file")
    gguf = export_folder / spec["gguf"]
    if not gguf.is_file():
        raise FileNotFoundError(f"{gguf} (named in {spec_path}) is missing")
    if not hosts:
        return []
    digest = file_sha256(gguf)  # once, before the threads: every host gets the same digest
    request = {
        "files": {gguf.name: f"sha256:{digest}"},
        **{k: spec[k] for k in CREATE_KEYS if spec.get(k)},
        "stream": True,
    }
    names = [f"{model}:{tag}" for tag in dict.fromkeys(tags)] or [model]
    with ThreadPoolExecutor(max_workers=len(hosts), thread_name_prefix="distribute") as pool:
        return list(pool.map(lambda h: _push(h, gguf, digest, request, names, timeout, progress), hosts))
