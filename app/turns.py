"""Giving other tasks of the event loop their turn during a long computation."""

from __future__ import annotations

import asyncio
import time


class Turns:
    """Call ``await turns.take()`` between pieces of a long synchronous computation: once this task
    has kept the event loop for ``every`` seconds it lets the others run (a request's write waiting
    behind a sweep's batch that draws hundreds of forecasts, say)."""

    __slots__ = ("_since", "every")

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self._since = time.perf_counter()

    async def take(self) -> None:
        if time.perf_counter() - self._since >= self.every:
            await asyncio.sleep(0)
            self._since = time.perf_counter()
