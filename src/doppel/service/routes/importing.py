"""Imports over HTTP: upload an export (admin token, ``service.max_import_bytes``), then watch it run.

The upload is streamed to a private file under ``<home>/imports`` and imported in a thread by the same
call the CLI makes (``doppel.importers.run_import``); the file is deleted when the import ends. Progress
and the counts are kept in this server process and read with ``GET /api/import/{id}``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from doppel.importers import FORMATS, ImportProblem, run_import
from doppel.service.state import ADMIN, State

router = APIRouter(prefix="/api/import", tags=["import"])
CHUNK = 1 << 20


@dataclass
class ImportJob:
    id: str
    twin: str
    format: str
    state: str = "uploading"  # uploading, running, succeeded, failed
    stage: str = ""
    done: int = 0
    total: int = 0
    bytes: int = 0
    person: dict | None = None
    report: dict | None = None
    error: str | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    def public(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "task"}


def _bad(field_: str, value, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("query", field_), "input": value, "msg": message}])


@router.post("", status_code=202, dependencies=[ADMIN])
async def upload(
    request: Request,
    state: State,
    format: Annotated[str, Query(description=f"One of {', '.join(FORMATS)}.")],  # noqa: A002
    twin: str | None = None,
    me: Annotated[list[str] | None, Query(description="The person's addresses or names (default: guessed).")] = None,
    gap_hours: Annotated[
        float, Query(gt=0, le=24 * 365, description="Chats: a pause that starts a conversation.")
    ] = 24.0,
) -> dict:
    """Upload one export file (an .mbox, a .zip of a maildir or Slack export, a WhatsApp .txt, Telegram's
    result.json, ...) as the raw request body; 202 with the import's id and where to watch it."""
    if format not in FORMATS:
        raise _bad("format", format, f"must be one of {', '.join(FORMATS)}")
    twin_cfg = state.twin(twin)
    me = me or []
    if any("\x00" in m or len(m) > 320 for m in me):
        raise _bad("me", me, "an address or name of at most 320 characters")
    job = ImportJob(id=uuid.uuid4().hex[:12], twin=twin_cfg.name, format=format)
    folder = state.settings.home / "imports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{job.id}.upload"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # the person's mail: private
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                fh.write(chunk)
                job.bytes += len(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if job.bytes == 0:
        path.unlink(missing_ok=True)
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body",), "input": None, "msg": "upload the export file as the body"}]
        )
    state.imports[job.id] = job
    job.state = "running"
    job.task = asyncio.create_task(_run(state, job, twin_cfg, path, list(me), gap_hours))
    return {"import_id": job.id, "twin": job.twin, "state": job.state, "status_url": f"/api/import/{job.id}"}


async def _run(state, job: ImportJob, twin_cfg, path: Path, me: list[str], gap_hours: float) -> None:
    def progress(stage: str, done: int, total: int) -> None:
        job.stage, job.done, job.total = stage, done, total

    def said(person) -> None:
        job.person = {
            "who": sorted(person.addresses | person.names),
            "messages": person.messages,
            "guessed": person.guessed,
        }

    try:
        report = await asyncio.to_thread(
            run_import,
            state.db,
            twin_cfg,
            job.format,
            path,
            me=me,
            gap_hours=gap_hours,
            progress=progress,
            on_person=said,
        )
        job.report, job.state = report.to_dict(), "succeeded"
        job.report["path"] = "(uploaded file)"
    except ImportProblem as exc:
        job.state, job.error = "failed", str(exc).replace(str(path), "the uploaded file")
    except Exception as exc:  # a database that went away, a full disk: the job says so, the server stays up
        job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        path.unlink(missing_ok=True)


@router.get("/{import_id}", dependencies=[ADMIN])
def import_status(import_id: str, state: State) -> dict:
    """An import's state (running, succeeded, failed), stage and counts."""
    job = state.imports.get(import_id)
    if job is None:
        raise HTTPException(404, f"no import {import_id!r} in this server process")
    return job.public()
