"""The seed's quick check: one reply from the final version."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from doppel.inference.backend import BackendError
from doppel.inference.prompting import PromptTooLong
from doppel.service.routes.asking import field_error, loaded_twin
from doppel.service.schemas import TestReply, TestRequest
from doppel.service.state import READ, State

router = APIRouter(prefix="/api", tags=["test"])


@router.post("/test", response_model=TestReply, dependencies=[READ])
async def test(body: TestRequest, state: State):
    """`{"prompt"}` → the final version's reply, the version used and the latency."""
    try:
        async with state.gate(state.twin(body.twin)).slot():
            twin = await loaded_twin(state, body.twin)
            reply = await run_in_threadpool(twin.chat, body.prompt, max_tokens=body.max_new_tokens)
    except PromptTooLong as exc:
        raise field_error("prompt", str(exc)) from None
    except BackendError as exc:
        raise HTTPException(502, str(exc)) from None
    return TestReply(
        reply=reply.text,
        twin=reply.twin,
        version=reply.version,
        latency_ms=reply.latency_ms,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
    )
