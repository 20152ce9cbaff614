"""Bounded concurrency for the calls that run a model: a few at once, a few waiting, 429 beyond that.

A generation or a scoring pass holds a CPU or GPU for seconds. Without a
bound, a burst of requests piles up threads, each holding its prompt and its
activations, until memory runs out. Per twin, ``inference.max_concurrent``
requests run and ``inference.max_queued`` wait; the next one is refused at
once with 429 and ``Retry-After``, which every HTTP client knows to honour.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import HTTPException

# Seconds a refused client is asked to wait: about one short generation.
RETRY_AFTER = 2


class Gate:
    def __init__(self, max_concurrent: int, max_queued: int):
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self._slots = asyncio.Semaphore(max_concurrent)
        self.waiting = 0

    async def acquire(self) -> Callable[[], None]:
        """Wait for a slot (429 when the queue is full); returns the function that gives it back, once."""
        if self._slots.locked() and self.waiting >= self.max_queued:
            raise HTTPException(
                429,
                f"busy: {self.max_concurrent} requests running and {self.waiting} waiting "
                "(inference.max_concurrent, inference.max_queued); retry shortly",
                headers={"Retry-After": str(RETRY_AFTER)},
            )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._slots.release()

        return release

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        release = await self.acquire()
        try:
            yield
        finally:
            release()


async def held_until_done(events: AsyncIterator[str], release: Callable[[], None]) -> AsyncIterator[str]:
    """A stream that keeps its slot until the last event is sent or the client goes away."""
    try:
        async for event in events:
            yield event
    finally:
        release()
