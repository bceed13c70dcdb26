"""A revoked or expired token ends every open session on every process: websockets close with 4403, SSE streams end.

Two real server processes share one PostgreSQL database. Staff revoke a token on one; the sockets and
streams that token opened on the other end within TOKEN_CACHE_SECONDS, live subscriptions included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.api import Api
from tests.conftest import PG_URL, START, empty_postgres, issue_token, require_service
from tests.factories import create_order
from tests.launcher import ServiceProcess, serve_app
from tests.live import LEGACY_WS, TRANSPORT_WS, wait_until

TTL = 1.0  # TOKEN_CACHE_SECONDS of both processes
ORDER_EVENTS = "subscription($id: ID!, $after: String) { orderEvents(orderId: $id, after: $after) { sequence type after } }"
NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"
CREATE = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { id } } }"
REVOKE = "mutation($id: ID!) { revokeToken(id: $id) { revokedAt } }"


@pytest.fixture
async def pg(pg_schema: str) -> AsyncIterator[Database]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    database = Database(PG_URL, schema=pg_schema, pool_size=3)
    await empty_postgres(database)
    yield database
    await database.dispose()


@pytest.fixture
async def servers(pg: Database, pg_schema: str) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess]]:
    env = {
        "DATABASE_URL": PG_URL,
        "DATABASE_SCHEMA": pg_schema,
        "BROADCAST_URL": PG_URL,
        "BROADCAST_CHANNEL": f"ot-test-{uuid.uuid4().hex[:8]}",
        "MONITOR_ENABLED": "false",
        "TOKEN_CACHE_SECONDS": str(TTL),
        "WS_KEEP_ALIVE_SECONDS": "0.5",
    }
    a, b = ServiceProcess(env), ServiceProcess(env)
    try:
        await asyncio.gather(a.astart(), b.astart())
        yield a, b
    finally:
        a.close()
        b.close()


class Socket:
    """A raw websocket client of either protocol following one subscription, keeping what arrives and how it closed."""

    def __init__(self, conn: ClientConnection, protocol: str) -> None:
        self.conn, self.protocol = conn, protocol
        self.events: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, address: str, token: str, protocol: str) -> Socket:
        conn = await websockets.connect(f"ws://{address}/graphql", subprotocols=[Subprotocol(protocol)])
        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        ack = json.loads(await asyncio.wait_for(conn.recv(), timeout=5))
        assert ack["type"] == "connection_ack", ack
        return cls(conn, protocol)

    async def _read(self) -> None:
        try:
            async for raw in self.conn:
                message = json.loads(raw)
                self.messages.append(message)
                if message.get("type") in ("next", "data") and message.get("payload", {}).get("data"):
                    self.events.append(message["payload"]["data"])
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.conn.close_code
            self.closed.set()

    async def send_operation(self, op_id: str, query: str, variables: dict[str, Any]) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.conn.send(json.dumps({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables}}))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.conn.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


class SseStream:
    """An SSE subscription over HTTP, keeping its events and errors until the server ends it."""

    def __init__(self, address: str, token: str, query: str, variables: dict[str, Any]) -> None:
        self.events: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.ended = asyncio.Event()
        self._task = asyncio.create_task(self._read(address, token, {"query": query, "variables": variables}))

    async def _read(self, address: str, token: str, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        try:
            async with (
                httpx.AsyncClient(timeout=30) as client,
                client.stream("POST", f"http://{address}/graphql", json=body, headers=headers) as response,
            ):
                async for line in response.aiter_lines():
                    if line.startswith("data:") and line[5:].strip():
                        payload = json.loads(line[5:])
                        if payload.get("errors"):
                            self.errors.extend(payload["errors"])
                        elif payload.get("data"):
                            self.events.append(payload["data"])
        finally:
            self.ended.set()

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _token_id(staff: Api, name: str) -> str:
    tokens = (await staff.ok("{ apiTokens { id name } }"))["apiTokens"]
    return next(t["id"] for t in tokens if t["name"] == name)


async def test_revoking_a_token_on_one_process_closes_its_sockets_and_streams_on_another(
    servers: tuple[ServiceProcess, ServiceProcess], pg: Database
) -> None:
    a, b = servers
    clock = FrozenClock(START)
    async with httpx.AsyncClient(base_url=f"http://{a.address}", timeout=10) as http_a:
        staff = Api(http_a, await issue_token(pg, clock, Role.STAFF, "sam.staff"))
        wall = await issue_token(pg, clock, Role.VIEWER, "wall-screen")
        order = await create_order(staff, clock.now())
        follow = {
            "id": order["id"],
            "after": (await staff.ok("{ eventLogCursor }"))["eventLogCursor"],
        }  # misses nothing from here
        sockets = [await Socket.open(b.address, wall, protocol) for protocol in (TRANSPORT_WS, LEGACY_WS)]
        sse = SseStream(b.address, wall, ORDER_EVENTS, follow)
        try:
            for n, sock in enumerate(sockets):
                await sock.send_operation(str(n), ORDER_EVENTS, follow)
            await staff.ok(NOTE, {"id": order["id"], "text": "before the revocation"})
            await wait_until(lambda: all(s.events for s in sockets) and sse.events, timeout=15, what="the note on every session")

            await staff.ok(REVOKE, {"id": await _token_id(staff, "wall-screen")})
            revoked_at = time.monotonic()
            await wait_until(
                lambda: all(s.closed.is_set() for s in sockets) and sse.ended.is_set(),
                timeout=TTL + 5,
                what="every session of the revoked token to end",
            )
            ended_after = time.monotonic() - revoked_at
            assert [s.close_code for s in sockets] == [4403, 4403]
            assert [e["extensions"]["code"] for e in sse.errors] == ["UNAUTHENTICATED"]
            assert ended_after < TTL + 3, f"sessions ended {ended_after:.1f} s after the revocation"

            # Nothing reaches the closed sessions, and the token opens nothing new on either process.
            await staff.ok(NOTE, {"id": order["id"], "text": "after the revocation"})
            assert all(len(s.events) == 1 for s in sockets) and len(sse.events) == 1
            for address in (a.address, b.address):
                with pytest.raises(websockets.ConnectionClosed) as refused:
                    late = await Socket.open(address, wall, TRANSPORT_WS)
                    await late.close()
                assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403
        finally:
            for sock in sockets:
                await sock.close()
            await sse.close()


async def test_a_socket_whose_token_expires_is_closed_and_its_stream_ended(
    servers: tuple[ServiceProcess, ServiceProcess], pg: Database
) -> None:
    a, b = servers
    clock = FrozenClock(START)
    async with httpx.AsyncClient(base_url=f"http://{a.address}", timeout=10) as http_a:
        staff = Api(http_a, await issue_token(pg, clock, Role.STAFF, "sam.staff"))
        order = await create_order(staff, clock.now())
        made = (await staff.ok(CREATE, {"input": {"name": "visitor", "role": "VIEWER", "expiresIn": "3s"}}))["createApiToken"]
        sock = await Socket.open(b.address, made["secret"], TRANSPORT_WS)
        try:
            await sock.send_operation(
                "1", ORDER_EVENTS, {"id": order["id"], "after": (await staff.ok("{ eventLogCursor }"))["eventLogCursor"]}
            )
            await staff.ok(NOTE, {"id": order["id"], "text": "while it lasts"})
            await wait_until(lambda: bool(sock.events), timeout=10, what="the note")
            await wait_until(sock.closed.is_set, timeout=3 + TTL + 5, what="the socket of the expired token to close")
            assert sock.close_code == 4403
            assert await Api(http_a, made["secret"]).code("{ me { name } }") == "UNAUTHENTICATED"
        finally:
            await sock.close()


async def test_a_mutation_sent_on_a_socket_whose_token_was_revoked_does_not_commit(db: Database, clock: FrozenClock) -> None:
    """With the token cache off, the operation's own re-check finds the revocation (whichever of it and the watcher comes first)."""
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, token_cache_seconds=0, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    async with serve_app(app) as address, httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        staff = Api(http, await issue_token(db, clock, Role.STAFF, "sam.staff"))
        order = await create_order(staff, clock.now())
        made = (await staff.ok(CREATE, {"input": {"name": "laptop", "role": "STAFF"}}))["createApiToken"]
        sock = await Socket.open(address, made["secret"], TRANSPORT_WS)
        try:
            await staff.ok(REVOKE, {"id": made["token"]["id"]})
            await sock.send_operation("1", NOTE, {"id": order["id"], "text": "from a stolen laptop"})
            await wait_until(sock.closed.is_set, timeout=5, what="the socket to close")
            assert sock.close_code == 4403
            assert not any(m.get("type") == "next" for m in sock.messages)
            notes = await staff.ok("query($id: ID!) { customerOrder(id: $id) { notes { text } } }", {"id": order["id"]})
            assert notes["customerOrder"]["notes"] == []
        finally:
            await sock.close()
