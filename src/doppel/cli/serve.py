"""``doppel serve`` and ``doppel worker``: the long-running processes, the HTTP service and a worker alone."""

from __future__ import annotations

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
    uvicorn.run(api, host=host, port=port or settings.service.port, log_level=settings.log_level)


@app.command("worker")
@guard
def worker_command(config: ConfigOpt = None):
    """Run a worker only: takes training jobs from the shared queue (one per GPU node), runs the schedule."""
    import asyncio

    from doppel.jobs.worker import work

    settings = command_settings(config)
    asyncio.run(work(settings, Database(settings)))
