"""``doppel serve`` and ``doppel worker``: the long-running processes, the HTTP service and a worker alone."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from doppel.cli.app import app
from doppel.cli.errors import fail, guard
from doppel.cli.settings import ConfigOpt, command_settings
from doppel.db import Database


@app.command()
@guard
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default service.host: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default service.port: 8011).")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run a training worker in this process.")] = True,
):
    """Serve the HTTP API (OpenAPI at /docs) and the web page (at /) with a worker and the nightly schedule beside it."""  # noqa: E501 (the --help text)
    import uvicorn

    from doppel.service.app import create_app
    from doppel.service.auth import InsecureBind

    settings = command_settings(config)
    host = host or settings.service.host
    try:
        api = create_app(settings, host=host, run_worker=worker)
    except InsecureBind as exc:
        fail(exc)
    _exit_through_python_on(signal.SIGTERM, signal.SIGINT)
    uvicorn.run(api, host=host, port=port or settings.service.port, log_level=settings.log_level)


def _exit_through_python_on(*signals: signal.Signals) -> None:
    """Once uvicorn has shut down it raises the signal that stopped it again, with the handler it found.

    With Python's default handler that kills the process before the exit handlers run, and one of them
    stops the embedded PostgreSQL when this process was its last user: a stopped `serve` left it running.
    With this handler the process leaves through ``sys.exit`` and the exit handlers run.
    """
    for sig in signals:
        signal.signal(sig, lambda *_: sys.exit(0))


@app.command("worker")
@guard
def worker_command(
    config: ConfigOpt = None,
    gpus: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Train each run on this many GPUs of this node: torchrun + DDP, one process per GPU "
            "(default service.gpus: 1).",
        ),
    ] = None,
):
    """Run a worker only: takes training jobs from the shared queue (one per GPU node), runs the schedule."""
    import asyncio

    from doppel.jobs.worker import work

    settings = command_settings(config)
    if gpus is not None:
        settings = settings.model_copy(update={"service": settings.service.model_copy(update={"gpus": gpus})})
    asyncio.run(work(settings, Database(settings)))
