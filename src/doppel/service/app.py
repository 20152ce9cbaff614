"""The FastAPI application: routes, auth, body limits, and (by default) a worker beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

import doppel
from doppel.config import Settings
from doppel.db import Database
from doppel.jobs.queue import ensure_queue_schema
from doppel.jobs.tasks import build_app
from doppel.service.auth import check_bind
from doppel.service.errors import invalid_request
from doppel.service.limits import BodyLimit
from doppel.service.routes import (
    asking,
    evaluation,
    feedback,
    health,
    importing,
    openai_compat,
    privacy,
    review,
    test,
    training,
    versions,
    web,
)
from doppel.service.state import ServiceState

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, host: str | None = None, run_worker: bool = True) -> FastAPI:
    host = host or settings.service.host
    check_bind(settings.service, host)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = Database(settings)
        await run_in_threadpool(ensure_queue_schema, db)
        queue = build_app(settings, db)
        async with queue.open_async():
            app.state.doppel = ServiceState(settings, host, db, queue)
            worker = None
            if run_worker:
                from doppel.jobs.worker import work

                worker = asyncio.create_task(work(settings, db, app=queue, install_signal_handlers=False))
                worker.add_done_callback(_report_worker_exit)
            try:
                yield
            finally:
                await run_in_threadpool(app.state.doppel.models.close)
                if worker is not None:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await worker

    app = FastAPI(
        title="doppel",
        version=doppel.__version__,
        description="Train and serve a digital twin of one person. Bearer tokens: see the README's Security section.",
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.service.max_body_bytes,
        per_path={"/api/import": settings.service.max_import_bytes},
    )
    app.add_exception_handler(RequestValidationError, invalid_request)
    for module in (
        training,
        versions,
        privacy,
        importing,
        evaluation,
        review,
        feedback,
        test,
        asking,
        openai_compat,
        health,
        web,
    ):
        app.include_router(module.router)
    return app


def _report_worker_exit(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the worker stopped: %r", task.exception())
