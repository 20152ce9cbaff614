"""Feedback on the twin's replies over HTTP: ratings and edits, and how many pairs wait to be learned."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from doppel.feedback import FeedbackError, record_feedback, summary
from doppel.service.auth import Access, authorize
from doppel.service.routes.asking import field_error
from doppel.service.schemas import FeedbackRequest
from doppel.service.state import READ, State

router = APIRouter(prefix="/api/feedback", tags=["feedback"])


@router.post("", status_code=201, dependencies=[READ])
async def give_feedback(body: FeedbackRequest, request: Request, state: State) -> dict:
    """Store a rating and/or an edit of a reply; an edit is a preference pair for `doppel train --preference`.

    Marking an edit as the person's own words (`as_person`) needs an admin token."""
    if body.as_person:
        authorize(request, state.settings.service, state.host, Access.ADMIN)
    twin = state.twin(body.twin).name
    try:
        stored = await run_in_threadpool(
            record_feedback,
            state.db,
            twin,
            messages=[t.model_dump() for t in body.messages],
            reply=body.reply,
            reviewer=body.reviewer,
            version=body.version,
            rating=body.rating,
            edited=body.edited,
            as_person=body.as_person,
            source=body.source,
        )
    except FeedbackError as exc:
        raise field_error(exc.field, str(exc)) from None
    counts = await run_in_threadpool(summary, state.db, twin)
    return {"id": stored.id, "twin": twin, "pair": stored.is_pair, **counts}


@router.get("", dependencies=[READ])
async def feedback_summary(state: State, twin: str | None = Query(None)) -> dict:
    """Counts of the twin's feedback: ratings, mean rating, edits, and edits waiting to be learned."""
    name = state.twin(twin).name
    return {"twin": name, **(await run_in_threadpool(summary, state.db, name))}
