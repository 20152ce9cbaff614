"""Asking a twin: `/api/chat` (the seed's shape, optionally streamed) and `/api/decide`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from doppel.config import TwinConfig
from doppel.inference.backend import BackendError
from doppel.inference.decisions import DecisionError
from doppel.inference.prompting import PromptTooLong
from doppel.registry import FINAL, Registry, RegistryError
from doppel.service.gate import held_until_done
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


def check_history(config: TwinConfig, turns: list[dict], field: str = "history") -> None:
    """422 when earlier turns exceed the twin's request bounds (checked before any prompt is rendered)."""
    limits = config.inference
    if len(turns) > limits.max_history_turns:
        raise field_error(
            field, f"{len(turns)} earlier turns; at most {limits.max_history_turns} (inference.max_history_turns)"
        )
    chars = sum(len(t["content"]) for t in turns)
    if chars > limits.max_history_chars:
        raise field_error(
            field,
            f"{chars} characters of earlier turns; at most {limits.max_history_chars} (inference.max_history_chars)",
        )


def check_option_bounds(config: TwinConfig, options: list[str]) -> None:
    limits = config.inference
    if len(options) > limits.max_options:
        raise field_error("options", f"{len(options)} options; at most {limits.max_options} (inference.max_options)")
    longest = max((len(o) for o in options), default=0)
    if longest > limits.max_option_chars:
        raise field_error(
            "options",
            f"an option of {longest} characters; at most {limits.max_option_chars} (inference.max_option_chars)",
        )


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
    history = [turn.model_dump() for turn in body.history]
    config = state.twin(body.personality)
    check_history(config, history)
    kwargs = dict(max_tokens=body.max_tokens, temperature=body.temperature, seed=body.seed, retrieval=body.retrieval)
    # The slot first: a request refused with 429 must cost nothing, not even a thread to look up the model.
    release = await state.gate(config).acquire()
    try:
        twin = await loaded_twin(state, body.personality, body.version)
        if not body.stream:
            try:
                reply = await run_in_threadpool(
                    twin.chat, body.message, context=body.context, history=history, **kwargs
                )
            finally:
                release()
            return reply.as_dict()
        pieces = await run_in_threadpool(twin.stream, body.message, context=body.context, history=history, **kwargs)
    except PromptTooLong as exc:
        release()
        raise field_error(exc.field, str(exc)) from None
    except BackendError as exc:
        release()
        raise HTTPException(502, str(exc)) from None
    except BaseException:
        release()
        raise
    events = stream_events(
        pieces,
        lambda piece: sse(None, {"delta": piece}),
        lambda reply: sse("done", reply.as_dict()),
        lambda exc: sse("error", {"detail": str(exc)}),
    )
    return StreamingResponse(
        held_until_done(events, release), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.post("/decide", response_model=DecideReply, dependencies=[READ])
async def decide(body: DecideRequest, state: State):
    """`choice` (one of `options`), `probabilities` from the twin's likelihood of each option as its
    answer (one batched pass), `rationale` in its words, `abstained` below the threshold."""
    config = state.twin(body.twin)
    check_option_bounds(config, body.options)
    try:
        async with state.gate(config).slot():
            twin = await loaded_twin(state, body.twin, body.version)
            decision = await run_in_threadpool(
                twin.decide,
                body.context,
                body.options,
                abstain_below=body.abstain_below,
                rationale=body.rationale,
                retrieval=body.retrieval,
            )
    except DecisionError as exc:
        raise field_error(exc.field, str(exc)) from None
    except PromptTooLong as exc:
        raise field_error("context", str(exc)) from None
    except BackendError as exc:
        raise HTTPException(502, str(exc)) from None
    return decision.as_dict()
