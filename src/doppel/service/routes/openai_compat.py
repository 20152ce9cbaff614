"""OpenAI-compatible `/v1/models` and `/v1/chat/completions`: the official client works unchanged.

`model` names a twin. The twin's own system prompt always leads (it is what the
model was trained under); a client's system message is added below it.
"""

from __future__ import annotations

import json
import time
import uuid

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from doppel.inference.backend import BackendError
from doppel.inference.prompting import PromptTooLong
from doppel.registry import Registry
from doppel.service.gate import held_until_done
from doppel.service.routes.asking import check_history, loaded_twin, stream_events
from doppel.service.schemas import ChatCompletionRequest
from doppel.service.state import READ, State

router = APIRouter(prefix="/v1", tags=["openai"])


def openai_error(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
    """OpenAI's error envelope, so the official client raises its usual exceptions."""
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}}, status)


@router.get("/models", dependencies=[READ])
async def models(state: State):
    registry = Registry(state.settings.resolved_models_dir)
    data = []
    for twin in state.settings.twins:
        final = registry.final(twin.name)
        created = int(final.path.stat().st_mtime) if final is not None else 0
        data.append(
            {
                "id": twin.name,
                "object": "model",
                "created": created,
                "owned_by": "doppel",
                "version": final.name if final is not None else None,
            }
        )
    return {"object": "list", "data": data}


def _messages(body: ChatCompletionRequest, persona) -> list[dict[str, str]]:
    extra = [m.text() for m in body.messages if m.role in ("system", "developer") and m.text().strip()]
    system = "\n\n".join([persona.system_message(), *extra])
    turns = [{"role": m.role, "content": m.text()} for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise HTTPException(422, {"message": "the last message must be a non-empty user message", "param": "messages"})
    return [{"role": "system", "content": system}, *turns]


@router.post("/chat/completions", dependencies=[READ])
async def chat_completions(body: ChatCompletionRequest, state: State):
    if body.model not in {t.name for t in state.settings.twins}:
        return openai_error(
            404,
            f"The model `{body.model}` does not exist; known: {', '.join(t.name for t in state.settings.twins)}",
            "invalid_request_error",
            "model",
        )
    config = state.twin(body.model)
    try:
        check_history(config, [{"content": m.text()} for m in body.messages[:-1]], "messages")
    except HTTPException as exc:
        return openai_error(422, exc.detail[0]["msg"], "invalid_request_error", "messages")
    try:
        messages = _messages(body, config.persona)
    except HTTPException as exc:
        return openai_error(422, exc.detail["message"], "invalid_request_error", "messages")
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    kwargs = dict(
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        seed=body.seed or 0,
        stop=stop,
        retrieval=body.retrieval,
    )
    created, cid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
    try:
        release = await state.gate(config).acquire()  # before any work: a refusal costs nothing
    except HTTPException as exc:
        refused = openai_error(429, exc.detail, "rate_limit_error")
        refused.headers.update(exc.headers or {})
        return refused
    try:
        twin = await loaded_twin(state, body.model)
        if not body.stream:
            try:
                reply = await run_in_threadpool(twin.complete, messages, **kwargs)
            finally:
                release()
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": twin.name,
                "system_fingerprint": f"{twin.name}@{twin.version}",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": reply.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": _usage(reply),
                # Not OpenAI's: the person's records the answer was given (empty without retrieval).
                "sources": reply.sources,
            }
        pieces = await run_in_threadpool(twin.stream_messages, messages, **kwargs)
    except PromptTooLong as exc:
        release()
        return openai_error(400, str(exc), "invalid_request_error", "messages")
    except BackendError as exc:
        release()
        return openai_error(502, str(exc), "server_error")
    except BaseException:
        release()
        raise

    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None, sources=None) -> str:
        data = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": twin.name,
            "system_fingerprint": f"{twin.name}@{twin.version}",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if usage is not None:
            data["usage"] = usage
        if sources is not None:
            data["sources"] = sources
        return f"data: {json.dumps(data)}\n\n"

    first = [True]

    def piece(text: str) -> str:
        delta = {"role": "assistant", "content": text} if first[0] else {"content": text}
        first[0] = False
        return chunk(delta)

    events = stream_events(
        pieces,
        piece,
        lambda reply: chunk({}, reply.finish_reason, _usage(reply), reply.sources) + "data: [DONE]\n\n",
        lambda exc: f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n",
    )
    return StreamingResponse(
        held_until_done(events, release), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _usage(reply) -> dict:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }
