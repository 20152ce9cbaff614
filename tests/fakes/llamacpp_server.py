"""llama-cpp-python's own OpenAI-compatible server, unmodified, in a subprocess.

Not a fake: this runs the real llama.cpp server (``llama_cpp.server``, through doppel's loader), so
the OpenAI-compatible backend is tested against what users run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.fakes.ports import free_port

# llama.cpp's worker threads spin at barriers; on a small shared box (2 cores, other jobs running) two of
# them stalled a 135M model's first request for 8-50 s where one thread takes 0.2 s.
THREADS = int(os.environ.get("DOPPEL_TEST_LLAMA_THREADS", "1"))


@contextmanager
def llamacpp_openai_server(
    gguf: Path,
    lora: Path | None,
    model: str,
    threads: int = THREADS,
    log: Path | None = None,
) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on ``gguf`` (+ ``lora``) as ``model``; yields ``.../v1``."""
    port = free_port()
    # Through doppel's loader rule: llama.cpp's AMX weight repacking crashes on these machines.
    launch = "import sys; from doppel.inference.backends.llamacpp import run_openai_server as r; r(sys.argv[1:])"
    args = [
        sys.executable,
        "-c",
        launch,
        "--model",
        str(gguf),
        "--model_alias",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--verbose",
        "False",
    ]
    if lora is not None:
        args += ["--lora_path", str(lora)]
    keep_log = log is not None
    if log is None:
        fd, name = tempfile.mkstemp(prefix="llamacpp-server-", suffix=".log")
        os.close(fd)
        log = Path(name)
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not answer /v1/models in 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        if not keep_log:
            log.unlink(missing_ok=True)
