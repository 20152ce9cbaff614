"""Forget requests over HTTP: file one (admin), list them (admin: they name people)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from doppel.privacy.forget import ForgetError, ForgetRequest, check_request, forget, list_requests
from doppel.runs import RunConflict
from doppel.service.schemas import ForgetBody
from doppel.service.state import ADMIN, State

router = APIRouter(prefix="/api/forget", tags=["privacy"])


@router.post("", status_code=201, dependencies=[ADMIN])
async def file_forget(body: ForgetBody, state: State) -> dict:
    """Leave every matching record out of each data set from now on and mark the versions trained on them.
    With ``retrain``, a full retrain of each twin is queued at once (``retrain_runs``: twin -> run id, or the
    run already queued or running)."""
    from doppel.jobs.queue import enqueue

    kind = body.kind
    try:
        value = check_request(kind, getattr(body, kind))
    except ForgetError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", kind), "input": getattr(body, kind), "msg": str(exc)}]
        ) from None
    twin = state.twin(body.twin).name if body.twin else None
    request = ForgetRequest(kind=kind, value=value, twin=twin, requested_by=body.requested_by)
    filed = await run_in_threadpool(forget, state.settings, state.db, request)
    runs: dict[str, dict] = {}
    if body.retrain:
        for name in filed.matched:
            try:
                runs[name] = {"job_id": await enqueue(state.queue, state.db, name, "full", {}, trigger="forget")}
            except RunConflict as exc:
                # A run already queued or running predates the request's filter only if it already collected.
                runs[name] = {"job_id": exc.run_id, "state": exc.state, "detail": str(exc)}
    return {**filed.public(), "retrain_runs": runs}


@router.get("", dependencies=[ADMIN])
async def forget_requests(state: State, twin: str | None = None) -> dict:
    """The requests on file (for ``twin``: those naming it or every twin), oldest first."""
    name = state.twin(twin).name if twin else None
    rows = await run_in_threadpool(list_requests, state.db, name)
    return {"requests": [r.public() for r in rows]}
