"""uvicorn's HTTP protocol (httptools) with a deadline for a request's headers.

uvicorn has no such setting: its keep-alive timer is cancelled by every byte that arrives, so a
client sending a header one byte at a time holds the connection for ever. Here the clock starts
when the connection opens (and again after each response) and stops when the headers are complete;
if it runs out first the client gets 408 and the connection is closed. Bodies have their own
timeout in the app (app/middleware.py ``BodySizeLimit``).

Served by ``ordertrack serve`` (``HTTP_PROTOCOL``). It builds on the parser callbacks httptools
calls (``on_headers_complete``) and asyncio's protocol methods; tests/test_slow_clients.py fails if
uvicorn stops calling them.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HTTP_PROTOCOL = "app.http_protocol:HeaderTimeoutProtocol"  # for uvicorn's ``http`` setting
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 37\r\nconnection: close\r\n\r\nThe request headers came too slowly.\n"
)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose requests must have their headers complete within ``header_timeout`` s."""

    # None: HEADER_READ_TIMEOUT_SECONDS from the settings (read in each worker process).
    header_timeout: ClassVar[float | None] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's protocol takes an asyncio.Transport; BaseProtocol types it wider
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._bytes_seen = False
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._bytes_seen = True
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._bytes_seen = False
            self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self._timeout(), self._headers_too_slow)

    def _disarm(self) -> None:
        deadline = getattr(self, "_header_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._header_deadline = None

    def _timeout(self) -> float:
        if self.header_timeout is not None:
            return self.header_timeout
        from app.config import get_settings

        return get_settings().header_read_timeout_seconds

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self._bytes_seen and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()
