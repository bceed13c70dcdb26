"""A client that trickles its request a byte at a time is cut off: headers and body each have a
deadline, so slow clients cannot hold connections (and tasks) open for as long as they like."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.http_protocol import HeaderTimeoutProtocol
from app.main import create_app
from app.realtime.ws_protocol import WS_PROTOCOL
from tests.live import wait_until

DEADLINE = 0.5


class QuickHeaders(HeaderTimeoutProtocol):
    header_timeout = DEADLINE


@contextlib.asynccontextmanager
async def served(db: Database, clock: FrozenClock) -> AsyncIterator[int]:
    """The app on uvicorn with the HTTP protocol ``ordertrack serve`` uses; yields the port."""
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, body_read_timeout_seconds=DEADLINE, _env_file=None
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(settings, db=db, clock=clock), log_level="warning", lifespan="on", http=QuickHeaders, ws=WS_PROTOCOL
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started or task.done(), timeout=15, what="uvicorn to start")
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
        sock.close()


async def trickle(port: int, head: bytes, drip: bytes, *, seconds: float = 5.0) -> tuple[bytes, float]:
    """Send ``head``, then ``drip`` a byte every 50 ms until the server closes; (what it answered, when)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(head)
    answer = b""

    async def read_all() -> None:
        nonlocal answer
        while chunk := await reader.read(4096):
            answer += chunk

    reading = asyncio.create_task(read_all())
    try:
        async with asyncio.timeout(seconds):
            for byte in drip:
                if reading.done():
                    break
                with contextlib.suppress(ConnectionError):
                    writer.write(bytes([byte]))
                    await writer.drain()
                await asyncio.wait({reading}, timeout=0.05)  # the client's pace, not a wait for the server
            await reading
    finally:
        reading.cancel()
        writer.close()
    return answer, time.monotonic() - started


@pytest.fixture
async def port(db: Database, clock: FrozenClock) -> AsyncIterator[int]:
    async with served(db, clock) as p:
        yield p


async def test_headers_trickled_a_byte_at_a_time_are_cut_off_with_408(port: int) -> None:
    answer, took = await trickle(port, b"POST /graphql HTTP/1.1\r\nhost: x\r\n", b"x-padding: " + b"a" * 500)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert took < DEADLINE + 2


async def test_a_body_trickled_a_byte_at_a_time_is_cut_off_with_408(port: int) -> None:
    body = json.dumps({"query": "{ me { name } }"}).encode()
    head = b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % (
        len(body) + 400
    )
    answer, took = await trickle(port, head, body + b" " * 400)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 408"), answer
    error = json.loads(rest.split(b"\r\n\r\n", 1)[1])["errors"][0]
    assert error["extensions"]["code"] == "REQUEST_TIMEOUT"
    assert took < DEADLINE + 2


async def test_a_connection_opened_and_left_silent_is_closed(port: int) -> None:
    answer, took = await trickle(port, b"", b"")
    assert answer == b""
    assert took < DEADLINE + 2


async def test_prompt_clients_are_served_on_a_kept_alive_connection(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(2):
            writer.write(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            async with asyncio.timeout(5):
                status = await reader.readline()
                headers: dict[str, Any] = {}
                while (line := await reader.readline()) != b"\r\n":
                    name, _, value = line.decode().partition(":")
                    headers[name.lower()] = value.strip()
                await reader.readexactly(int(headers["content-length"]))
            assert status.startswith(b"HTTP/1.1 200"), status
            assert headers["x-content-type-options"] == "nosniff"
    finally:
        writer.close()
