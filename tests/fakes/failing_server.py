"""A host that answers every request with an error status, as an overloaded or broken one does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests.fakes.uvicorn_thread import serve_in_thread


@contextmanager
def failing_server(status: int = 500) -> Iterator[str]:
    """A host that answers every request with ``status`` and an Ollama-style error, as an overloaded one does."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "DELETE"])
    def fail(path: str):
        return JSONResponse({"error": f"failing on purpose ({status})"}, status_code=status)

    with serve_in_thread(app) as url:
        yield url
