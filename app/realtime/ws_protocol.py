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

import logging
from typing import ClassVar, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

log = logging.getLogger("ordertrack.realtime")

SEND_NOW = "ordertrack.websocket.send_now"
WS_PROTOCOL = "app.realtime.ws_protocol:WebSocketProtocol"  # for uvicorn's ``ws`` setting

# uvicorn's private attributes ``send_now`` reads (uvicorn is pinned to the tested minor version;
# should one be renamed anyway, send_now is not offered, or gives up, and every send waits as usual).
PRIVATE_ATTRIBUTES = ("handshake_complete", "initial_response", "close_sent", "disconnected", "writable", "transport", "conn")


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """The sans-I/O websockets protocol uvicorn picks by default, plus ``send_now``."""

    # (message, frame) of the last uncompressed send_now: fan-out sends one message to thousands of
    # sockets in a row, and without extensions a server's frame is the same bytes on every one.
    _last_frame: ClassVar[tuple[bytes, bytes]] = (b"", b"")
    # Why send_now is off in this process (a private attribute is missing or failed), or None.
    incompatible: ClassVar[str | None] = None

    async def run_asgi(self) -> None:
        if WebSocketProtocol.incompatible is None:
            missing = [name for name in PRIVATE_ATTRIBUTES if not hasattr(self, name)]
            if missing:
                self._give_up(f"uvicorn's websocket protocol has no {', '.join(missing)}")
        if WebSocketProtocol.incompatible is None:
            # uvicorn always sets "extensions"; ASGI types each extension as a dict, this one is a callable
            cast("dict[str, object]", self.scope["extensions"])[SEND_NOW] = self.send_now
        await super().run_asgi()

    @staticmethod
    def _give_up(reason: str) -> None:
        if WebSocketProtocol.incompatible is None:
            log.warning("websocket send_now is off, every message takes the ordinary send: %s", reason)
        WebSocketProtocol.incompatible = reason

    def send_now(self, text: bytes) -> bool:
        """Send one text message (UTF-8) at once: True when it is written, False when the socket is
        not open for messages, its buffer is full (the client reads slowly), or send_now cannot work
        with this uvicorn/websockets (the caller then takes the ordinary send)."""
        try:
            return self._write_now(text)
        except (AttributeError, TypeError, ValueError, NameError) as exc:  # an internal renamed or changed
            self._give_up(f"{type(exc).__name__}: {exc}")
            return False

    def _write_now(self, text: bytes) -> bool:
        if (
            WebSocketProtocol.incompatible is not None
            or not self.handshake_complete
            or self.initial_response is not None
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
            or self.conn.state is not State.OPEN
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
