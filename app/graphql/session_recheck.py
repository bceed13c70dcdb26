"""Open sessions re-check their principal: a revoked or expired token ends websockets and SSE streams.

A websocket authenticates once, in ``connection_init``, and may stay open for days; an SSE stream
authenticates with its request. Each re-checks its token before every operation (websockets) and
whenever the token's cached check runs out (at most ``TOKEN_CACHE_SECONDS``) or the token expires.
A socket whose token no longer holds is closed with 4403; an SSE stream ends with UNAUTHENTICATED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.errors import DomainError, Unauthenticated

log = logging.getLogger("ordertrack.sessions")

T = TypeVar("T")
CLOSE_REVOKED = 4403


@dataclass(frozen=True)
class PrincipalCheck:
    """How one session re-checks the token it was opened with."""

    recheck: Callable[[], Awaitable[None]]  # raises Unauthenticated when the token no longer holds
    due_in: Callable[[], float]  # seconds until the next check can tell anything new


async def watch(check: PrincipalCheck) -> Unauthenticated:
    """Wait until the session's token no longer holds; an outage only postpones the next check."""
    while True:
        await asyncio.sleep(check.due_in())
        try:
            await check.recheck()
        except Unauthenticated as exc:
            return exc
        except DomainError:  # UNAVAILABLE: keep the session; the operations report the outage themselves
            log.debug("re-checking a session's token failed; trying again later", exc_info=True)


async def until_revoked(source: AsyncIterator[T], check: PrincipalCheck) -> AsyncIterator[T]:
    """``source``'s items until the token no longer holds; then UNAUTHENTICATED ends the stream."""
    watcher = asyncio.ensure_future(watch(check))
    following: asyncio.Future[T] | None = None
    try:
        while True:
            following = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({following, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if following not in done:
                raise watcher.result()
            try:
                item = following.result()
            except StopAsyncIteration:
                return
            following = None
            yield item
    finally:
        watcher.cancel()
        if following is not None and not following.done():
            following.cancel()
            await asyncio.wait({following})
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


class _Rechecking:
    """What both websocket protocols share: the check before an operation and the watcher."""

    context: Any
    websocket: Any
    _watcher: asyncio.Task[None] | None = None

    def _check(self) -> PrincipalCheck | None:
        return getattr(self.context, "principal_check", None)

    async def _principal_holds(self) -> bool:
        """Before an operation: False (and the socket closed) when the token was revoked or expired."""
        check = self._check()
        if check is None:
            return True
        try:
            await check.recheck()
        except Unauthenticated as exc:
            await self._close_revoked(exc)
            return False
        except DomainError:  # an outage: the operation itself answers UNAVAILABLE
            pass
        return True

    def _start_watching(self) -> None:
        check = self._check()
        if check is not None and self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch(check), name="session-recheck")

    async def _watch(self, check: PrincipalCheck) -> None:
        await self._close_revoked(await watch(check))

    def _stop_watching(self) -> None:
        if self._watcher is not None and self._watcher is not asyncio.current_task():
            self._watcher.cancel()
        self._watcher = None

    async def _close_revoked(self, error: Unauthenticated) -> None:
        try:
            await self.websocket.close(code=CLOSE_REVOKED, reason=error.message[:120])
        except Exception:  # already closing
            log.debug("closing a revoked session's socket failed", exc_info=True)
        await self._end_operations()

    async def _end_operations(self) -> None:
        raise NotImplementedError


class RecheckingTransportWS(_Rechecking):
    """graphql-transport-ws: mixed in before strawberry's handler."""

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)  # type: ignore[misc]  # a mixin: strawberry's handler, next in the MRO, has it
        if getattr(self, "connection_acknowledged", False):
            self._start_watching()

    async def handle_subscribe(self, message: Any) -> None:
        if getattr(self, "connection_acknowledged", False) and not await self._principal_holds():
            return
        await super().handle_subscribe(message)  # type: ignore[misc]  # a mixin: strawberry's handler, next in the MRO, has it

    async def shutdown(self) -> None:
        self._stop_watching()
        await super().shutdown()  # type: ignore[misc]  # a mixin: strawberry's handler, next in the MRO, has it

    async def _end_operations(self) -> None:
        for operation_id in list(getattr(self, "operations", {})):
            await self.cleanup_operation(operation_id)  # type: ignore[attr-defined]  # strawberry's handler's method (this class is mixed in before it)


class RecheckingLegacyWS(_Rechecking):
    """Legacy graphql-ws: the same around ``start``."""

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)  # type: ignore[misc]  # a mixin: strawberry's handler, next in the MRO, has it
        if getattr(self, "connection_acknowledged", False):
            self._start_watching()

    async def handle_start(self, message: Any) -> None:
        if getattr(self, "connection_acknowledged", False) and not await self._principal_holds():
            return
        await super().handle_start(message)  # type: ignore[misc]  # a mixin: strawberry's handler, next in the MRO, has it

    async def cleanup(self) -> None:
        self._stop_watching()
        await super().cleanup()  # type: ignore[misc]  # a mixin: strawberry's handler, next in the MRO, has it

    async def _end_operations(self) -> None:
        for operation_id in list(getattr(self, "tasks", {})):
            await self.cleanup_operation(operation_id)  # type: ignore[attr-defined]  # strawberry's handler's method (this class is mixed in before it)
