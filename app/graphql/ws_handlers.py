"""A direct line from a subscription to its websocket, for events rendered once for many subscribers.

strawberry sends every event of every subscriber through its own pipeline: execution, extension
hooks, a message dict, JSON encoding. For an event its fan-out group has already executed and
encoded (app/graphql/shared_events.py), the websocket handlers below give the operation's task a
``DirectLine``: it splices the operation id into the pre-encoded payload and sends the frame, from
the operation's task (``send``) or, while the operation waits for its next event, from the fan-out
group's task (``send_now``, where the server offers it). Everything else (errors, queries, SSE,
other transports) goes the usual way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived

from app.errors import Unavailable
from app.graphql import ws_messages
from app.graphql.persisted import PersistedLegacyWSHandler, PersistedTransportWSHandler
from app.graphql.session_recheck import RecheckingLegacyWS, RecheckingTransportWS
from app.graphql.shared_events import Rendered
from app.realtime.ws_protocol import SEND_NOW


class DirectLine:
    """Sends pre-encoded payloads of one operation as complete protocol messages."""

    __slots__ = ("_prefix", "_send_now", "_send_text")

    def __init__(self, send_text: Any, prefix: str, send_now: Callable[[bytes], bool] | None = None) -> None:
        self._send_text = send_text
        self._prefix = prefix
        self._send_now = send_now

    @property
    def sends_now(self) -> bool:
        """Whether ``send_now`` can ever succeed on this server."""
        return self._send_now is not None

    async def send(self, payload: str) -> bool:
        """False when the socket is gone (its handler then ends the operation)."""
        try:
            await self._send_text(self._prefix + payload + "}")
        except Exception:  # noqa: BLE001  disconnected or closing: nothing more goes out on it
            return False
        return True

    def send_now(self, seq: int, item: Any) -> bool:
        """Send a rendered payload without waiting, where the server can (app/realtime/ws_protocol.py):
        False when it is not a payload or cannot go out at once; the operation's task then sends it."""
        if self._send_now is None or not isinstance(item, Rendered):
            return False
        return self._send_now((self._prefix + item.payload + "}").encode())


# The line of the websocket operation running in this task; None elsewhere (HTTP, SSE, tests).
LINE: ContextVar[DirectLine | None] = ContextVar("direct_line", default=None)


def _line(handler: Any, prefix: str) -> None:
    ws = getattr(handler.websocket, "ws", None)  # strawberry's ASGI adapter around the starlette WebSocket
    if ws is not None:
        LINE.set(DirectLine(ws.send_text, prefix, (ws.scope.get("extensions") or {}).get(SEND_NOW)))


def _id(operation_id: Any) -> str:
    return json.dumps(operation_id)


class StrictJSONWebSocket(AsyncWebSocketAdapter):
    """A websocket adapter that reports text that is not JSON (strawberry's legacy handler asks to skip it)."""

    def __init__(self, inner: AsyncWebSocketAdapter) -> None:
        super().__init__(inner.view)
        self.inner = inner
        self.ws = getattr(inner, "ws", None)  # the starlette WebSocket, for the direct line

    def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        return self.inner.iter_json()

    async def send_json(self, message: Mapping[str, object]) -> None:
        await self.inner.send_json(message)

    async def close(self, code: int, reason: str) -> None:
        await self.inner.close(code, reason)


class DirectTransportWSHandler(RecheckingTransportWS, PersistedTransportWSHandler):
    """graphql-transport-ws: each operation's task gets a line sending ``next`` messages (the principal
    re-checked); an invalid message closes the socket with 4400."""

    async def handle_message(self, message: Any) -> None:
        reason = ws_messages.problem(message, legacy=False)
        if reason is not None:
            await self.handle_invalid_message(reason)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except Unavailable as exc:  # the token lookup met an outage: not Forbidden, but "try again later"
            await self.websocket.close(code=ws_messages.TRY_AGAIN_LATER, reason=exc.message)

    async def run_operation(self, operation: Any) -> None:
        _line(self, '{"id":' + _id(operation.id) + ',"type":"next","payload":')  # set in this operation's task only
        await super().run_operation(operation)


class DirectLegacyWSHandler(RecheckingLegacyWS, PersistedLegacyWSHandler):
    """Legacy graphql-ws: each operation's task gets a line sending ``data`` messages (the principal
    re-checked); a message that
    is not JSON or not one of the protocol's closes the socket with 4400 (strawberry would skip the
    first and fail on the second)."""

    async def handle(self) -> None:
        self.websocket = StrictJSONWebSocket(self.websocket)
        try:
            await super().handle()
        except NonJsonMessageReceived:
            await self.websocket.close(code=ws_messages.INVALID, reason="WebSocket message must be valid JSON")

    async def handle_message(self, message: Any) -> None:
        reason = ws_messages.problem(message, legacy=True)
        if reason is not None:
            await self.websocket.close(code=ws_messages.INVALID, reason=reason)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except Unavailable as exc:
            await self.send_message({"type": "connection_error", "payload": {"code": exc.code.value, "message": exc.message}})
            await self.websocket.close(code=ws_messages.TRY_AGAIN_LATER, reason=exc.message)

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        _line(self, '{"type":"data","id":' + _id(operation_id) + ',"payload":')
        await super().handle_async_results(operation_id, query, operation_name, variables)
