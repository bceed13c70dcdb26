"""Giving other tasks of the event loop their turn during a long computation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

# How long a computation that gives way to writers (``Turns(gate=...)``) waits for them at most
# before it computes its next slice: writes that never stop slow it down, they do not stop it.
PATIENCE = 0.05


class WritesInFlight:
    """The write transactions of one database in flight in this process (``Database.write``)."""

    __slots__ = ("_clear", "count")

    def __init__(self) -> None:
        self.count = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @contextmanager
    def one(self) -> Iterator[None]:
        """Counts one write while the block runs."""
        self.count += 1
        self._clear.clear()
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._clear.set()

    async def cleared(self, patience: float | None = None) -> None:
        """Let the others run, and wait until no write is in flight, ``patience`` (``PATIENCE``) seconds at most."""
        await asyncio.sleep(0)
        if self.count:
            try:
                async with asyncio.timeout(PATIENCE if patience is None else patience):
                    await self._clear.wait()
            except TimeoutError:
                pass


class Turns:
    """Call ``await turns.take()`` between pieces of a long synchronous computation: once this task
    has kept the event loop for ``every`` seconds it lets the others run (a request's write waiting
    behind a sweep's batch that draws hundreds of forecasts, say). With a ``gate``, it then also
    waits while writes are in flight (``WritesInFlight.cleared``): for work that holds no lock
    a writer could wait on, so that each of the writer's statements does not wait for its next turn."""

    __slots__ = ("_since", "every", "gate")

    def __init__(self, every: float = 0.005, *, gate: WritesInFlight | None = None) -> None:
        self.every = every
        self.gate = gate
        self._since = time.perf_counter()

    async def take(self) -> None:
        if time.perf_counter() - self._since >= self.every:
            if self.gate is None:
                await asyncio.sleep(0)
            else:
                await self.gate.cleared()
            self._since = time.perf_counter()
