"""Training endpoints: queue a run, watch it, list runs, cancel."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from doppel.jobs.queue import enqueue
from doppel.runs import RunConflict, get_run, latest_run, list_runs, request_cancel
from doppel.service.schemas import CancelRequest, JobStatus, Queued, TrainRequest
from doppel.service.state import ADMIN, READ, State
from doppel.training.overrides import OverrideError, resolve_training

router = APIRouter(prefix="/api", tags=["training"])


@router.post(
    "/train",
    status_code=202,
    response_model=Queued,
    dependencies=[ADMIN],
    responses={409: {"description": "a run for this twin is already queued or running"}},
)
async def train(body: TrainRequest, state: State):
    """Queue a training run. While the twin has one queued or running, answers 409 with that run's id."""
    twin = state.twin(body.twin)
    overrides = body.overrides()
    try:
        # The same check a CLI run gets: the config's bounds, then the base model's context window.
        await run_in_threadpool(resolve_training, twin, overrides, state.settings.home)
    except OverrideError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", exc.field), "input": exc.value, "msg": exc.message}]
        ) from exc
    try:
        run_id = await enqueue(state.queue, state.db, twin.name, body.mode, overrides.changes(), trigger="api")
    except RunConflict as exc:
        return JSONResponse(
            status_code=409,
            content={
                "detail": str(exc),
                "job_id": exc.run_id,
                "state": exc.state,
                "twin": twin.name,
            },
        )
    return Queued(
        job_id=run_id,
        twin=twin.name,
        mode=body.mode,
        state="queued",
        status_url=f"/api/training/status?twin={twin.name}",
    )


@router.get("/training/status", response_model=JobStatus, dependencies=[READ])
def status(
    state: State,
    twin: str | None = Query(None, description="Default: the config's first twin."),
    job_id: int | None = Query(None, description="A specific run instead of the twin's current or last."),
):
    """The twin's current run, or its last one: state, progress, losses, ETA, version, error."""
    if job_id is not None:
        run = get_run(state.db, job_id)
    else:
        run = latest_run(state.db, state.twin(twin).name)
    if run is None:
        raise HTTPException(404, "no training run yet")
    return JobStatus.from_run(run)


@router.get("/training/jobs", response_model=list[JobStatus], dependencies=[READ])
def jobs(state: State, twin: str | None = None, limit: int = Query(50, ge=1, le=1000)):
    """Past and current runs, newest first."""
    name = state.twin(twin).name if twin else None
    return [JobStatus.from_run(r, with_history=False) for r in list_runs(state.db, name, limit)]


@router.post("/training/cancel", status_code=202, response_model=JobStatus, dependencies=[ADMIN])
def cancel(state: State, body: CancelRequest | None = None):
    """Cancel one of the twin's queued or running runs (training or evaluation); it ends without a result."""
    twin = state.twin(body.twin if body else None)
    job_id = body.job_id if body else None
    run = request_cancel(state.db, twin.name, job_id)
    if run is None:
        which = f"job {job_id}" if job_id is not None else "no queued or running run"
        raise HTTPException(404, f"twin {twin.name!r} has {which}" + (" queued or running" if job_id else ""))
    return JobStatus.from_run(get_run(state.db, run.id))
