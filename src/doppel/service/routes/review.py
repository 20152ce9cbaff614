"""Blind review over HTTP: the next pair for a reviewer, and their answer."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from starlette.concurrency import run_in_threadpool

from doppel.evaluation.reviews import ReviewError, next_pair, submit_review
from doppel.evaluation.store import evaluation_dir
from doppel.registry import Registry, RegistryError
from doppel.service.routes.asking import field_error
from doppel.service.schemas import ReviewRequest
from doppel.service.state import READ, State

router = APIRouter(prefix="/api/review", tags=["review"])


def _folder(state: State, twin: str | None, version: str):
    name = state.twin(twin).name
    try:
        found = Registry(state.settings.resolved_models_dir).get(name, version)
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from None
    return found, evaluation_dir(found)


def _http(exc: ReviewError) -> HTTPException:
    if exc.status == 422 and exc.field:
        return field_error(exc.field, str(exc))
    return HTTPException(exc.status, str(exc))


@router.get("/next", dependencies=[READ], responses={404: {"description": "version not evaluated yet"}})
async def next_review(
    state: State,
    reviewer: str = Query(..., min_length=1, max_length=200, pattern=r"^[^\x00]+$"),
    twin: str | None = Query(None),
    version: str = Query("final"),
) -> dict:
    """A held-out prompt with the person's real reply and the twin's, as "1" and "2" in a blind order."""
    found, folder = _folder(state, twin, version)
    try:
        return await run_in_threadpool(next_pair, state.db, folder, found.twin, found.name, reviewer)
    except ReviewError as exc:
        raise _http(exc) from None


@router.post("", dependencies=[READ], responses={404: {"description": "unknown version or pair"}})
async def review(body: ReviewRequest, state: State) -> dict:
    """Record which reply the reviewer thinks is real and their 1-10 score of the twin's reply."""
    found, folder = _folder(state, body.twin, body.version)
    try:
        result = await run_in_threadpool(
            submit_review,
            state.db,
            folder,
            found.twin,
            found.name,
            pair_id=body.pair_id,
            reviewer=body.reviewer,
            picked=body.picked,
            score=body.score,
        )
    except ReviewError as exc:
        raise _http(exc) from None
    return {"recorded": True, "twin": found.twin, "version": found.name, **result}
