"""The seed's quick check: one reply from the final version."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from doppel.inference.messages import chat_messages
from doppel.registry import RegistryError
from doppel.service.schemas import TestReply, TestRequest
from doppel.service.state import READ, State

router = APIRouter(prefix="/api", tags=["test"])


@router.post("/test", response_model=TestReply, dependencies=[READ])
async def test(body: TestRequest, state: State):
    """`{"prompt"}` → the final version's reply, the version used and the latency."""
    twin = state.twin(body.twin)
    started = time.perf_counter()
    try:
        model = await run_in_threadpool(state.models.get, twin.name)
    except RegistryError as exc:
        raise HTTPException(409, str(exc)) from None
    reply = await run_in_threadpool(
        model.generate, chat_messages(twin.persona, body.prompt), max_new_tokens=body.max_new_tokens
    )
    return TestReply(
        reply=reply.text, twin=twin.name, version=model.version.name,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
    )
