"""Asking a twin: `/api/chat` (the seed's shape, optionally streamed) and `/api/decide`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from doppel.inference.backend import BackendError
from doppel.inference.decisions import DecisionError
from doppel.inference.prompting import PromptTooLong
from doppel.registry import FINAL, Registry, RegistryError
from doppel.service.schemas import ChatReply, ChatRequest, DecideReply, DecideRequest
from doppel.service.state import READ, State

router = APIRouter(prefix="/api", tags=["ask"])


def field_error(field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the body field."""
    return HTTPException(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


async def loaded_twin(state, name: str | None, version: str | None = None):
    """A version of the twin (default: final), loaded: 404 for an unknown twin or version, 409 when the
    twin has no final version yet."""
    config = state.twin(name)
    try:
        return await run_in_threadpool(state.models.get, config.name, version)
    except RegistryError as exc:
        if version is not None and version != FINAL:
            known = [v.name for v in Registry(state.settings.resolved_models_dir).versions(config.name)]
            raise HTTPException(404, {"message": str(exc), "version": version, "known_versions": known}) from None
        raise HTTPException(409, str(exc)) from None
    except BackendError as exc:
        raise HTTPException(502, f"the {config.inference.backend} backend failed: {exc}") from None


def sse(event: str | None, data: dict) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n"


async def stream_events(pieces: Iterator, render_piece, render_done, render_error) -> AsyncIterator[str]:
    """Relay a backend's pieces as they come; a failure mid-stream becomes an error event, not a cut."""
    try:
        async for item in iterate_in_threadpool(pieces):
            yield render_piece(item) if isinstance(item, str) else render_done(item)
    except Exception as exc:  # the status line is already sent: report in-band
        yield render_error(exc)


@router.post("/chat", response_model=ChatReply, dependencies=[READ])
async def chat(body: ChatRequest, state: State):
    """The twin's reply as `{reply, twin, version, tokens, latency}`; `stream: true` sends SSE:
    `data: {"delta": "..."}` per piece, then `event: done` with the whole reply object."""
    twin = await loaded_twin(state, body.personality, body.version)
    history = [turn.model_dump() for turn in body.history]
    kwargs = dict(max_tokens=body.max_tokens, temperature=body.temperature, seed=body.seed)
    try:
        if not body.stream:
            reply = await run_in_threadpool(twin.chat, body.message, context=body.context, history=history, **kwargs)
            return reply.as_dict()
        pieces = await run_in_threadpool(twin.stream, body.message, context=body.context, history=history, **kwargs)
    except PromptTooLong as exc:
        raise field_error(exc.field, str(exc)) from None
    except BackendError as exc:
        raise HTTPException(502, str(exc)) from None
    events = stream_events(
        pieces,
        lambda piece: sse(None, {"delta": piece}),
        lambda reply: sse("done", reply.as_dict()),
        lambda exc: sse("error", {"detail": str(exc)}),
    )
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/decide", response_model=DecideReply, dependencies=[READ])
async def decide(body: DecideRequest, state: State):
    """`choice` (one of `options`), `probabilities` from the twin's likelihood of each option as its
    answer (one batched pass), `rationale` in its words, `abstained` below the threshold."""
    twin = await loaded_twin(state, body.twin, body.version)
    try:
        decision = await run_in_threadpool(
            twin.decide, body.context, body.options, abstain_below=body.abstain_below, rationale=body.rationale
        )
    except DecisionError as exc:
        raise field_error(exc.field, str(exc)) from None
    except PromptTooLong as exc:
        raise field_error("context", str(exc)) from None
    except BackendError as exc:
        raise HTTPException(502, str(exc)) from None
    return decision.as_dict()
