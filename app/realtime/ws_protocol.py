"""uvicorn's websocket protocol with one addition: a send that does not wait, offered to the app as
the ASGI scope extension ``ordertrack.websocket.send_now``.

ASGI sends are coroutines, so a fan-out group that wants to put one event on 5,000 sockets would
need 5,000 task wake-ups (each subscriber's own task) or 5,000 awaits. Writing a frame to a socket
whose buffer has room never has to wait, though; ``send_now`` does just that, and says False (the
caller then takes the usual, awaiting way) whenever it would have to wait or cannot send at all.

Served by ``python -m app serve`` (``WS_PROTOCOL``); under any other server the extension is absent
and every message goes the usual way.
"""

from __future__ import annotations

from typing import ClassVar

from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

SEND_NOW = "ordertrack.websocket.send_now"
WS_PROTOCOL = "app.realtime.ws_protocol:WebSocketProtocol"  # for uvicorn's ``ws`` setting


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """The sans-I/O websockets protocol uvicorn picks by default, plus ``send_now``."""

    # (message, frame) of the last uncompressed send_now: fan-out sends one message to thousands of
    # sockets in a row, and without extensions a server's frame is the same bytes on every one.
    _last_frame: ClassVar[tuple[bytes, bytes]] = (b"", b"")

    async def run_asgi(self) -> None:
        self.scope["extensions"][SEND_NOW] = self.send_now  # type: ignore[index]
        await super().run_asgi()

    def send_now(self, text: bytes) -> bool:
        """Send one text message (UTF-8) at once: True when it is written, False when the socket is
        not open for messages or its buffer is full (the client reads slowly)."""
        if (
            not self.handshake_complete or self.initial_response is not None or self.close_sent or self.disconnected
            or not self.writable.is_set() or self.transport.is_closing() or self.conn.state is not State.OPEN
        ):
            return False
        if self.conn.extensions:  # compressed: each connection has its own deflate state
            try:
                self.conn.send_text(text)
            except InvalidState:
                return False
            self.transport.write(b"".join(self.conn.data_to_send()))
            return True
        message, frame = WebSocketProtocol._last_frame
        if text != message:
            frame = Frame(Opcode.TEXT, text).serialize(mask=False)
            WebSocketProtocol._last_frame = (text, frame)
        self.transport.write(frame)
        return True
