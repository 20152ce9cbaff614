"""A real HTTP server speaking Ollama's documented API, answering with a real model.

* :func:`ollama_protocol_server`: a small FastAPI app that speaks Ollama's documented HTTP API
  (docs/api.md: ``/api/generate``, ``/api/tags``, ``/api/version``, blobs, ``/api/create``,
  ``/api/copy``, ``/api/delete``) and enforces it, answering with llama.cpp on a GGUF, since Ollama
  itself cannot be installed where the tests run.
* :func:`ollama_hub_server`: the same server with no model loaded, as a fresh Ollama host looks to
  ``doppel distribute``; yields its :class:`OllamaStore` (blobs, created models, request counts).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from tests.fakes.llamacpp_server import THREADS
from tests.fakes.uvicorn_thread import serve_in_thread

OLLAMA_VERSION = "0.12.11"  # the first release whose /api/generate lists logprobs

# Top-level fields of POST /api/generate (docs/api.md) and the JSON types each accepts.
GENERATE_FIELDS: dict[str, tuple[str, ...]] = {
    "model": ("string",),
    "prompt": ("string",),
    "suffix": ("string",),
    "images": ("array",),
    "format": ("string", "object"),
    "options": ("object",),
    "system": ("string",),
    "template": ("string",),
    "stream": ("bool",),
    "raw": ("bool",),
    "keep_alive": ("string", "number"),
    "context": ("array",),
    "think": ("bool", "string"),
    "logprobs": ("bool",),
    "top_logprobs": ("number",),
}
# Modelfile parameters accepted in "options", by kind (docs/api.md "Generate request (With options)").
OPTION_KINDS: dict[str, str] = {
    **dict.fromkeys(
        [
            "num_keep",
            "seed",
            "num_predict",
            "top_k",
            "repeat_last_n",
            "mirostat",
            "num_ctx",
            "num_batch",
            "num_gpu",
            "main_gpu",
            "num_thread",
        ],
        "integer",
    ),
    **dict.fromkeys(
        [
            "top_p",
            "min_p",
            "typical_p",
            "temperature",
            "repeat_penalty",
            "presence_penalty",
            "frequency_penalty",
            "mirostat_tau",
            "mirostat_eta",
        ],
        "float",
    ),
    **dict.fromkeys(["penalize_newline", "numa", "low_vram", "vocab_only", "use_mmap", "use_mlock"], "boolean"),
    "stop": "stop",
}
GO_TYPES = {
    "model": "string",
    "prompt": "string",
    "suffix": "string",
    "images": "[]api.ImageData",
    "format": "json.RawMessage",
    "options": "map[string]interface {}",
    "system": "string",
    "template": "string",
    "stream": "bool",
    "raw": "bool",
    "keep_alive": "api.Duration",
    "context": "[]int",
    "think": "api.ThinkValue",
    "logprobs": "bool",
    "top_logprobs": "int",
}
# POST /api/create's fields (docs/api.md "Create a Model"; "name" and "quantization" are the deprecated spellings).
CREATE_FIELDS: dict[str, tuple[str, ...]] = {
    "model": ("string",),
    "from": ("string",),
    "files": ("object",),
    "adapters": ("object",),
    "template": ("string",),
    "license": ("string", "array"),
    "system": ("string",),
    "parameters": ("object",),
    "messages": ("array",),
    "stream": ("bool",),
    "quantize": ("string",),
    "renderer": ("string",),
    "parser": ("string",),
    "name": ("string",),
    "quantization": ("string",),
}
CREATE_GO_TYPES = {
    **dict.fromkeys(CREATE_FIELDS, "string"),
    "files": "map[string]string",
    "adapters": "map[string]string",
    "license": "interface {}",
    "parameters": "map[string]interface {}",
    "messages": "[]api.Message",
    "stream": "bool",
}
COPY_FIELDS = {"source": ("string",), "destination": ("string",)}
DELETE_FIELDS = {"model": ("string",), "name": ("string",)}
# manifest.BlobsPath accepts only these; Ollama stores the blob as blobs/sha256-<hex>.
DIGEST = re.compile(r"sha256[:-][0-9a-fA-F]{64}")
# model.ParseName, roughly: [host/][namespace/]model[:tag].
MODEL_NAME = re.compile(
    r"([A-Za-z0-9][A-Za-z0-9_.-]{0,79}/){0,2}"  # host/, namespace/
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}"  # model
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,79})?"  # :tag
)


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def _check_fields(body, fields: dict[str, tuple[str, ...]], go_types: dict[str, str], struct: str) -> dict:
    """Go's JSON decoding of ``body`` into ``api.<struct>``, with unknown fields refused.

    Stricter than Ollama in one way, on purpose: Ollama ignores unknown top-level fields,
    which would hide a typo in our client; here they are a 400.
    """
    if not isinstance(body, dict):
        raise _Refused(400, f"json: cannot unmarshal {_json_type(body)} into Go value of type api.{struct}")
    for key, value in body.items():
        if key not in fields:
            raise _Refused(400, f'json: unknown field "{key}"')
        kind = _json_type(value)
        if kind != "null" and kind not in fields[key]:
            raise _Refused(
                400, f"json: cannot unmarshal {kind} into Go struct field {struct}.{key} of type {go_types[key]}"
            )
    return body


def _check_option(key: str, value) -> None:
    """One Modelfile parameter (a generate option, a create parameter) of the kind Ollama expects."""
    kind = OPTION_KINDS.get(key)
    if kind is None:
        raise _Refused(400, f'invalid option provided: "{key}"')
    ok = {
        "integer": isinstance(value, (int, float)) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "stop": isinstance(value, str) or (isinstance(value, list) and all(isinstance(s, str) for s in value)),
    }[kind]
    if value is not None and not ok:
        raise _Refused(400, f'option "{key}" must be of type {"array" if kind == "stop" else kind}')


def _check_generate(body) -> dict:
    """The request as Ollama would take it, or _Refused with Ollama's status and error text.

    Unknown fields and unknown options (which Ollama logs and ignores) are a 400 here: see _check_fields.
    """
    _check_fields(body, GENERATE_FIELDS, GO_TYPES, "GenerateRequest")
    if body.get("top_logprobs") is not None and not float(body["top_logprobs"]).is_integer():
        raise _Refused(
            400, "json: cannot unmarshal number into Go struct field GenerateRequest.top_logprobs of type int"
        )
    if not body.get("model"):
        raise _Refused(400, "model is required")
    if not 0 <= int(body.get("top_logprobs") or 0) <= 20:
        raise _Refused(400, "top_logprobs must be between 0 and 20")
    if body.get("raw") and (body.get("template") or body.get("system") or body.get("context")):
        raise _Refused(400, "raw mode does not support template, system, or context")
    for key, value in (body.get("options") or {}).items():
        _check_option(key, value)
    for feature in ("suffix", "images", "format", "think"):
        if body.get(feature):
            raise _Refused(400, f"this test server does not implement {feature!r}")
    return body


def _full_name(name: str) -> str:
    """``name`` as Ollama lists it (``:latest`` added), or the 400 Ollama gives a malformed one."""
    if not MODEL_NAME.fullmatch(name or ""):
        raise _Refused(400, "invalid model name")
    return name if ":" in name else f"{name}:latest"


def _check_create(body) -> dict:
    """POST /api/create as Ollama validates it before it starts streaming (server/create.go)."""
    _check_fields(body, CREATE_FIELDS, CREATE_GO_TYPES, "CreateRequest")
    for key in ("files", "adapters"):
        for digest in (body.get(key) or {}).values():
            if not isinstance(digest, str):
                raise _Refused(
                    400,
                    f"json: cannot unmarshal {_json_type(digest)} into Go struct field "
                    f"CreateRequest.{key} of type string",
                )
    if "typical_p" in (body.get("parameters") or {}):
        raise _Refused(
            400, "typical_p is deprecated and cannot be set as a model parameter; pass it as a request option instead"
        )
    for path, digest in (body.get("files") or {}).items():
        if path == "." or any(part in ("", ".", "..") for part in path.split("/")) or any(c in path for c in "\\:"):
            raise _Refused(400, f"file path must be relative: {path}")
        if not DIGEST.fullmatch(digest):
            raise _Refused(400, f"invalid digest for {path}: invalid digest format")
        if path.endswith(".safetensors"):
            raise _Refused(400, "this test server does not implement safetensors imports")
    for feature in ("from", "adapters", "quantize", "quantization", "messages", "renderer", "parser"):
        if body.get(feature):
            raise _Refused(400, f"this test server does not implement {feature!r}")
    _full_name(body.get("model") or body.get("name") or "")
    return body


class OllamaStore:
    """What an Ollama host keeps (blobs by digest, created models), and what a test wants to count.

    ``keep_blobs=False`` is a host that accepts an upload and then loses it (pruned, disk wiped)
    before ``/api/create`` reads it.
    """

    def __init__(self, keep_blobs: bool = True):
        self._tmp = tempfile.TemporaryDirectory(prefix="ollama-blobs-")
        self.blobs_dir = Path(self._tmp.name)
        self.keep_blobs = keep_blobs
        self.models: dict[str, dict] = {}  # "name:tag" -> what /api/create was given, plus its digest
        self.uploads = 0  # blobs accepted (201)
        self.uploaded_bytes = 0
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.lock = threading.Lock()
        self.url = ""

    def blob_path(self, digest: str) -> Path:
        return self.blobs_dir / digest.replace(":", "-", 1)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def count(self, method: str, path_prefix: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))

    def tag(self, name: str) -> dict:
        """The model's /api/tags entry."""
        record = self.models[name]
        return {
            "name": name,
            "model": name,
            "modified_at": record["modified_at"],
            "size": record["size"],
            "digest": record["digest"],
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "",
                "families": None,
                "parameter_size": "",
                "quantization_level": "",
            },
        }

    def create(self, name: str, req: dict) -> list[dict]:
        """Progress lines as /api/create streams them, ending in success or an error (then nothing is made)."""
        events: list[dict] = []
        files = req.get("files") or {}
        if not files:
            return [{"error": "neither 'from' or 'files' was specified", "status": 400}]
        layers = []
        for path, digest in sorted(files.items()):
            events.append({"status": "parsing GGUF"})
            blob = self.blob_path(digest)
            if not blob.is_file():  # Ollama reads the GGUF's metadata here, so a missing blob fails mid-stream
                return events + [{"error": f"open {blob}: no such file or directory"}]
            with blob.open("rb") as f:
                if f.read(4) not in (b"GGUF", b"FUGG"):
                    return events + [{"error": f"{path}: invalid file magic"}]
            layers.append({"digest": "sha256:" + digest[7:].lower(), "size": blob.stat().st_size})
            events.append({"status": f"using existing layer {layers[-1]['digest']}"})
        for key, value in (req.get("parameters") or {}).items():
            try:
                _check_option(key, value)
            except _Refused as exc:
                return events + [{"error": exc.message, "status": 400}]
        for kind in ("template", "system", "parameters"):
            if req.get(kind):
                text = json.dumps(req[kind], sort_keys=True)
                layers.append({"digest": "sha256:" + hashlib.sha256(text.encode()).hexdigest(), "size": len(text)})
                events.append({"status": f"creating {kind} layer"})
        events.append({"status": "writing manifest"})
        manifest = json.dumps({"schemaVersion": 2, "layers": layers}, sort_keys=True).encode()
        record = {
            "digest": hashlib.sha256(manifest).hexdigest(),
            "size": sum(layer["size"] for layer in layers),
            "modified_at": _now(),
            "files": dict(files),
            **{k: req[k] for k in ("template", "system", "parameters", "license") if k in req},
        }
        with self.lock:
            self.models[name] = record
        return events + [{"status": "success"}]

    def close(self) -> None:
        self._tmp.cleanup()


class _RecordRequests:
    """ASGI middleware: every request's method and path into the store, for tests to count."""

    def __init__(self, app, store: OllamaStore):
        self.app, self.store = app, store

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            with self.store.lock:
                self.store.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


class _OllamaModel:
    """One GGUF (+ LoRA) answering /api/generate the way Ollama's runner does."""

    def __init__(self, gguf: Path, lora: Path | None, name: str, threads: int):
        import llama_cpp

        self.llama_cpp = llama_cpp
        from doppel.inference.backends.llamacpp import load_llama

        self.llm = load_llama(
            str(gguf),
            lora_path=str(lora) if lora else None,
            n_ctx=2048,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        self.name = name if ":" in name else f"{name}:latest"
        self.gguf = gguf
        self.lock = threading.Lock()  # one generation at a time, like one Ollama runner slot

    def matches(self, requested: str) -> bool:
        return (requested if ":" in requested else f"{requested}:latest") == self.name

    def tag(self) -> dict:
        stat = self.gguf.stat()
        return {
            "name": self.name,
            "model": self.name,
            "modified_at": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat().replace("+00:00", "Z"),
            "size": stat.st_size,
            "digest": hashlib.sha256(f"{self.gguf}:{stat.st_size}".encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "135M",
                "quantization_level": "Q4_1",
            },
        }

    def template(self, prompt: str, system: str | None) -> str:
        """What Ollama does to a prompt without ``raw``: wrap it in the model's (ChatML) template."""
        head = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
        return f"{head}<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"

    def _text(self, token: int) -> bytes:
        return self.llm.detokenize([token], special=True)

    def _logprob_entry(self, logits, token: int, top: int) -> dict:
        import numpy as np

        shifted = logits - logits.max()
        logprobs = shifted - np.log(np.exp(shifted).sum())
        raw = self._text(token)
        entry = {"token": raw.decode("utf-8", "replace"), "logprob": float(logprobs[token]), "bytes": list(raw)}
        if top:
            best = np.argpartition(-logprobs, top)[:top]
            best = best[np.argsort(-logprobs[best])]
            entry["top_logprobs"] = [
                {
                    "token": self._text(int(i)).decode("utf-8", "replace"),
                    "logprob": float(logprobs[i]),
                    "bytes": list(self._text(int(i))),
                }
                for i in best
            ]
        return entry

    def tokens(self, req: dict) -> list[int]:
        """The prompt's tokens: as given with ``raw`` (special tokens parsed), else templated first."""
        prompt = req["prompt"] if req.get("raw") else self.template(req["prompt"], req.get("system"))
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        if len(tokens) >= self.llm.n_ctx():
            raise _Refused(400, f"input length ({len(tokens)} tokens) exceeds the context length")
        return tokens

    def generate(self, req: dict, tokens: list[int]) -> Iterator[dict]:
        """Chunks {"response", "logprobs"?}, then one {"done": True, ...} with the documented metrics."""
        import numpy as np

        started = time.monotonic_ns()
        opts = req.get("options") or {}
        with self.lock:
            loaded = time.monotonic_ns()
            limit = int(opts.get("num_predict", -1))
            limit = self.llm.n_ctx() - len(tokens) if limit < 0 else limit
            stops = opts.get("stop") or []
            stops = [stops] if isinstance(stops, str) else stops
            seed = int(opts.get("seed", -1))
            self.llm.set_seed(seed if seed >= 0 else random.randrange(2**31))
            want_logprobs, top = bool(req.get("logprobs")), int(req.get("top_logprobs") or 0)
            seen: list = []

            def keep_raw_logits(_ids, scores):
                # Runs first in the sampler chain, so these are the model's logits before any sampling setting.
                seen[:] = [np.array(scores, dtype=np.float64)]
                return scores

            generated: list[int] = []
            pending, held, held_logprobs = b"", "", []
            reason, first_token_at = "length", None
            for token in self.llm.generate(
                tokens,
                temp=float(opts.get("temperature", 0.8)),
                top_k=int(opts.get("top_k", 40)),
                top_p=float(opts.get("top_p", 0.9)),
                min_p=float(opts.get("min_p", 0.0)),
                repeat_penalty=float(opts.get("repeat_penalty", 1.1)),
                presence_penalty=float(opts.get("presence_penalty", 0.0)),
                frequency_penalty=float(opts.get("frequency_penalty", 0.0)),
                logits_processor=[keep_raw_logits] if want_logprobs else None,
            ):
                first_token_at = first_token_at or time.monotonic_ns()
                generated.append(token)
                if self.llama_cpp.llama_vocab_is_eog(self.llm._model.vocab, token):
                    reason = "stop"  # like Ollama's runner: an end token ends the reply, with no log-probs
                    break
                if want_logprobs:
                    held_logprobs.append(self._logprob_entry(seen[0], token, top))
                pending += self._text(token)
                try:
                    held += pending.decode("utf-8")
                    pending = b""
                except UnicodeDecodeError:
                    if len(pending) < 4:  # a character split across tokens: wait for the rest
                        if len(generated) >= limit:
                            break
                        continue
                    held += pending.decode("utf-8", "replace")
                    pending = b""
                cuts = [held.index(s) for s in stops if s in held]
                if cuts:
                    held, reason = held[: min(cuts)], "stop"
                    break
                # Hold back text that may be the start of a stop sequence, as Ollama does.
                if not any(held.endswith(s[:i]) for s in stops for i in range(1, len(s))):
                    yield {"response": held, **({"logprobs": held_logprobs} if want_logprobs else {})}
                    held, held_logprobs = "", []
                if len(generated) >= limit:
                    break
            if held:
                yield {"response": held, **({"logprobs": held_logprobs} if want_logprobs else {})}
        finished = time.monotonic_ns()
        first_token_at = first_token_at or finished
        final = {
            "done": True,
            "done_reason": reason,
            "total_duration": finished - started,
            "load_duration": max(loaded - started, 1),
            "prompt_eval_count": len(tokens),
            "prompt_eval_duration": max(first_token_at - loaded, 1),
            "eval_count": len(generated),
            "eval_duration": max(finished - first_token_at, 1),
        }
        if not req.get("raw"):
            final["context"] = list(tokens) + generated  # raw mode returns no context (docs/api.md)
        yield final


def ollama_app(model: _OllamaModel | None, store: OllamaStore | None = None):
    """Ollama's API over one loaded ``model`` (or none) and ``store`` (blobs and created models)."""
    store = store if store is not None else OllamaStore()
    app = FastAPI()
    app.add_middleware(_RecordRequests, store=store)

    def refuse(exc: _Refused) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def json_body(request: Request, check):
        raw = await request.body()
        if not raw:
            raise _Refused(400, "missing request body")
        try:
            return check(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise _Refused(400, f"invalid character in request body: {exc}") from None

    @app.get("/")
    def root():
        return PlainTextResponse("Ollama is running")

    @app.get("/api/version")
    def version():
        return {"version": OLLAMA_VERSION}

    @app.get("/api/tags")
    def tags():
        with store.lock:
            created = [store.tag(name) for name in sorted(store.models)]
        return {"models": ([model.tag()] if model else []) + created}

    @app.head("/api/blobs/{digest}")
    def head_blob(digest: str):
        if not DIGEST.fullmatch(digest):
            return refuse(_Refused(400, "invalid digest format"))
        if not store.has_blob(digest):
            return refuse(_Refused(404, f'blob "{digest}" not found'))
        return Response(status_code=200)

    @app.post("/api/blobs/{digest}")
    async def create_blob(digest: str, request: Request):
        if not DIGEST.fullmatch(digest):
            return refuse(_Refused(400, "invalid digest format"))
        if store.has_blob(digest):
            return Response(status_code=200)  # Ollama answers before reading the body
        # Like Ollama: write the body to a file while hashing it, keep it only if the hash is the one named.
        fd, partial = tempfile.mkstemp(dir=store.blobs_dir, prefix="partial-")
        try:
            sha, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                async for chunk in request.stream():
                    sha.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            got = f"sha256:{sha.hexdigest()}"
            if got != digest:
                return refuse(_Refused(400, f'digest mismatch, expected "{digest}", got "{got}"'))
            if store.keep_blobs:
                os.replace(partial, store.blob_path(digest))
            with store.lock:
                store.uploads += 1
                store.uploaded_bytes += size
            return Response(status_code=201)
        finally:
            Path(partial).unlink(missing_ok=True)

    @app.post("/api/create")
    async def create(request: Request):
        try:
            req = await json_body(request, _check_create)
        except _Refused as exc:
            return refuse(exc)
        name = _full_name(req.get("model") or req.get("name"))
        events = await run_in_threadpool(store.create, name, req)
        if req.get("stream") is False:
            # One object: the error (with its status, else 500) or the last status, as waitForStream does.
            for event in events:
                if "error" in event:
                    return refuse(_Refused(event.get("status", 500), event["error"]))
            return events[-1]
        return StreamingResponse((json.dumps(e) + "\n" for e in events), media_type="application/x-ndjson")

    @app.post("/api/copy")
    async def copy(request: Request):
        try:
            req = await json_body(request, lambda b: _check_fields(b, COPY_FIELDS, CREATE_GO_TYPES, "CopyRequest"))
            source, destination = _full_name(req.get("source", "")), _full_name(req.get("destination", ""))
        except _Refused as exc:
            return refuse(exc)
        with store.lock:
            if source not in store.models:
                return refuse(_Refused(404, f'model "{req["source"]}" not found'))
            store.models[destination] = {**store.models[source], "modified_at": _now()}
        return Response(status_code=200)

    @app.delete("/api/delete")
    async def delete(request: Request):
        try:
            req = await json_body(request, lambda b: _check_fields(b, DELETE_FIELDS, CREATE_GO_TYPES, "DeleteRequest"))
            asked = req.get("model") or req.get("name") or ""
            name = _full_name(asked)
        except _Refused as exc:
            return refuse(exc)
        with store.lock:
            if store.models.pop(name, None) is None:
                return refuse(_Refused(404, f"model '{asked}' not found"))
        return Response(status_code=200)

    @app.post("/api/generate")
    async def generate(request: Request):
        raw = await request.body()
        if not raw:
            return refuse(_Refused(400, "missing request body"))
        try:
            req = _check_generate(json.loads(raw))
        except json.JSONDecodeError as exc:
            return refuse(_Refused(400, f"invalid character in request body: {exc}"))
        except _Refused as exc:
            return refuse(exc)
        if model is None or not model.matches(req["model"]):
            if (req["model"] if ":" in req["model"] else f"{req['model']}:latest") in store.models:
                return refuse(_Refused(400, "this test server does not run created models"))
            return refuse(_Refused(404, f'model "{req["model"]}" not found, try pulling it first'))
        head = {"model": req["model"]}
        if not req.get("prompt"):
            return {**head, "created_at": _now(), "response": "", "done": True, "done_reason": "load"}
        try:
            tokens = model.tokens(req)
        except _Refused as exc:
            return refuse(exc)

        if req.get("stream") is False:

            def whole() -> dict:
                text, logprobs, final = "", [], {}
                for chunk in model.generate(req, tokens):
                    if chunk.get("done"):
                        final = chunk
                    else:
                        text += chunk["response"]
                        logprobs += chunk.get("logprobs", [])
                body = {**head, "created_at": _now(), "response": text, **final}
                if req.get("logprobs") and logprobs:
                    body["logprobs"] = logprobs
                return body

            return await run_in_threadpool(whole)

        def lines() -> Iterator[bytes]:
            for chunk in model.generate(req, tokens):
                if chunk.get("done"):
                    out = {**head, "created_at": _now(), "response": "", **chunk}
                else:
                    out = {**head, "created_at": _now(), "response": chunk["response"], "done": False}
                    if chunk.get("logprobs"):
                        out["logprobs"] = chunk["logprobs"]
                yield (json.dumps(out) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return app


@contextmanager
def ollama_protocol_server(
    gguf: Path,
    lora: Path | None,
    model: str,
    threads: int = THREADS,
    store: OllamaStore | None = None,
) -> Iterator[str]:
    """A local server enforcing Ollama's documented protocol, serving ``model``; yields its URL."""
    store = store if store is not None else OllamaStore()
    try:
        with serve_in_thread(ollama_app(_OllamaModel(gguf, lora, model, threads), store)) as url:
            store.url = url
            yield url
    finally:
        store.close()


@contextmanager
def ollama_hub_server(keep_blobs: bool = True) -> Iterator[OllamaStore]:
    """The same server with no model loaded: a fresh Ollama host to push to. Yields its store (``.url``)."""
    store = OllamaStore(keep_blobs=keep_blobs)
    try:
        with serve_in_thread(ollama_app(None, store)) as url:
            store.url = url
            yield store
    finally:
        store.close()
