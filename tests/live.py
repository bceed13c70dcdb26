"""Helpers for live tests: the service (``tests.launcher``), a private redis-server, gql subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.launcher import free_port

TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL  # graphql-transport-ws
LEGACY_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL  # graphql-ws
ROOT = Path(__file__).resolve().parent.parent

EVENT_FIELDS = "sequence cursor type entity entityId orderId partyOrderId actor actorRole before after details"


async def wait_until(check: Any, timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """A redis-server of the test's own, on a free port, that the test can restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if not exe:  # like require_service: a skip outside CI, a failure on CI
            if os.environ.get("CI"):
                pytest.fail("redis-server is not installed, and CI must test broker restarts.")
            pytest.skip("redis-server is not installed (this skip is refused when CI is set).")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


async def log_cursor(address: str, token: str | None) -> str | None:
    """The cursor of the newest event in the log (``eventLogCursor``): subscribe after it to miss
    nothing. None for a caller who may not read it (the subscription is then refused anyway)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=f"http://{address}", headers=headers, timeout=10) as http:
        body = (await http.post("/graphql", json={"query": "{ eventLogCursor }"})).json()
    return None if body.get("errors") else str(body["data"]["eventLogCursor"])


class Subscriber:
    """A gql websocket client following one subscription in the background, keeping what arrives."""

    def __init__(
        self,
        address: str,
        token: str | None,
        query: str,
        variables: dict[str, Any] | None = None,
        protocol: str = TRANSPORT_WS,
        connect_args: dict[str, Any] | None = None,
        **transport_args: Any,
    ) -> None:
        self.transport = WebsocketsTransport(
            url=f"ws://{address}/graphql",
            init_payload={"authorization": f"Bearer {token}"} if token else {},
            subprotocols=[protocol],
            connect_args=connect_args or {},
            ack_timeout=5,
            **transport_args,
        )
        self.client = Client(transport=self.transport, fetch_schema_from_transport=False)
        self.address, self.token, self.query = address, token, query
        self.variables = dict(variables or {})
        self.events: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.failure: BaseException | None = None
        self.ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: Any = None

    async def start(self) -> Subscriber:
        """Subscribe from the log's newest cursor (unless the test gives ``after``): what the test does
        next is replayed even if the server registers the subscription later, so nothing waits."""
        if "$after" in self.query and "after" not in self.variables:
            cursor = await log_cursor(self.address, self.token)
            if cursor is not None:
                self.variables["after"] = cursor
        self._session = await self.client.connect_async(reconnecting=False)
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        try:
            async for result in self._session.subscribe(GraphQLRequest(self.query, variable_values=self.variables)):
                self.events.append(next(iter(result.values())))
        except TransportQueryError as exc:
            self.errors.extend(exc.errors or [{"message": str(exc)}])
        except Exception as exc:  # noqa: BLE001  kept for the test to look at
            self.failure = exc
        finally:
            self.ended.set()

    @property
    def sequences(self) -> list[int]:
        return [e["sequence"] for e in self.events]

    @property
    def last_cursor(self) -> str:
        return str(self.events[-1]["cursor"])

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        await wait_until(
            lambda: len(self.events) >= count or self.ended.is_set(),
            timeout=timeout,
            what=f"{count} events (have {len(self.events)})",
        )
        assert len(self.events) >= count, f"stream ended after {len(self.events)} events: {self.errors or self.failure}"
        return self.events

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.close_async(), timeout=5)


async def subscribe(
    address: str, token: str | None, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
) -> Subscriber:
    return await Subscriber(address, token, query, variables, **kwargs).start()


async def connect_error(
    address: str, token: str | None, protocol: str = TRANSPORT_WS, payload: dict[str, Any] | None = None
) -> BaseException:
    """What a client gets when it connects with this token (the test expects a refusal)."""
    transport = WebsocketsTransport(
        url=f"ws://{address}/graphql",
        init_payload=payload if payload is not None else ({"authorization": f"Bearer {token}"} if token else {}),
        subprotocols=[protocol],
        ack_timeout=5,
    )
    client = Client(transport=transport, fetch_schema_from_transport=False)
    try:
        session = await client.connect_async(reconnecting=False)
        async for _ in session.subscribe(GraphQLRequest("subscription { jeopardyAlerts { sequence } }")):
            break
    except Exception as exc:  # noqa: BLE001  whatever the refusal is, the test looks at it
        return exc
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close_async(), timeout=5)
    raise AssertionError("the connection was accepted")
