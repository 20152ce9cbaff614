"""Evaluation: queue a scorecard run, read a version's scorecard, report and data-set card."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from doppel.evaluation.store import REPORT_FILE, EvaluationError, evaluation_dir, load_scorecard
from doppel.jobs.queue import enqueue
from doppel.registry import Registry, RegistryError, Version
from doppel.runs import RunConflict
from doppel.service.schemas import EvaluateRequest, Queued
from doppel.service.state import ADMIN, READ, State

router = APIRouter(prefix="/api", tags=["evaluation"])


def _version(state: State, twin: str | None, version: str) -> Version:
    name = state.twin(twin).name
    try:
        return Registry(state.settings.resolved_models_dir).get(name, version)
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from None


@router.post(
    "/evaluate",
    status_code=202,
    response_model=Queued,
    dependencies=[ADMIN],
    responses={404: {"description": "unknown twin or version"}},
)
async def evaluate(state: State, body: EvaluateRequest | None = None):
    """Queue a full scorecard of a version (default final); watch it at /api/training/status?job_id=."""
    body = body or EvaluateRequest()
    version = _version(state, body.twin, body.version or "final")
    params = {"version": version.name, **({"seed": body.seed} if body.seed is not None else {})}
    try:
        run_id = await enqueue(state.queue, state.db, version.twin, "evaluate", params, trigger="api")
    except RunConflict as exc:  # evaluations do not conflict with training; kept for safety
        return JSONResponse(status_code=409, content={"detail": str(exc), "job_id": exc.run_id})
    return Queued(
        job_id=run_id,
        twin=version.twin,
        mode="evaluate",
        state="queued",
        status_url=f"/api/training/status?job_id={run_id}",
    )


@router.get(
    "/versions/{version}/scorecard",
    dependencies=[READ],
    responses={404: {"description": "unknown version, or not evaluated yet"}},
)
async def scorecard(version: str, state: State, twin: str | None = Query(None)) -> dict:
    """The version's scorecard, with the human review numbers as they stand now."""
    found = _version(state, twin, version)
    try:
        card = await run_in_threadpool(load_scorecard, state.settings, found.twin, found.name, state.db)
    except EvaluationError as exc:
        raise HTTPException(404, str(exc)) from None
    return card.to_json()


@router.get(
    "/versions/{version}/report",
    dependencies=[READ],
    response_class=HTMLResponse,
    responses={404: {"description": "unknown version, or not evaluated yet"}},
)
async def report(version: str, state: State, twin: str | None = Query(None)):
    """The version's self-contained HTML report (rebuilt so its human-review numbers are current)."""
    found = _version(state, twin, version)

    def build() -> str:
        from doppel.evaluation.store import write_report_for

        card = load_scorecard(state.settings, found.twin, found.name, state.db)
        return write_report_for(state.settings, found.twin, found, card).read_text()

    if not (evaluation_dir(found) / REPORT_FILE).is_file():
        raise HTTPException(404, f"{found.twin} {found.name} has not been evaluated yet")
    return HTMLResponse(await run_in_threadpool(build))


@router.get(
    "/versions/{version}/card",
    dependencies=[READ],
    response_class=PlainTextResponse,
    responses={404: {"description": "unknown version, or it has no data-set card"}},
)
def card(version: str, state: State, twin: str | None = Query(None)):
    """The data-set card of the version (markdown): what it was trained on, and what was left out."""
    found = _version(state, twin, version)
    path = found.path / "dataset_card.md"
    if not path.is_file():
        raise HTTPException(404, f"{found.twin} {found.name} has no data-set card")
    return PlainTextResponse(path.read_text(), media_type="text/markdown; charset=utf-8")
