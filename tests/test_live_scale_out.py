"""Several processes on PostgreSQL and a broker: cross-process delivery, broker restarts, slow consumers."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.realtime.bus import EventBus
from tests.api import Api
from tests.conftest import (
    PG_URL,
    REDIS_URL,
    START,
    empty_postgres,
    issue_token,
    require_service,
)
from tests.factories import create_order
from tests.launcher import ServiceProcess, serve_app
from tests.live import EVENT_FIELDS, RedisServer, Subscriber, subscribe, wait_until

ORDER_EVENTS = f"subscription($id: ID!, $after: String) {{ orderEvents(orderId: $id, after: $after) {{ {EVENT_FIELDS} }} }}"
NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"


@pytest.fixture
async def pg(pg_schema: str) -> AsyncIterator[Database]:
    database = Database(PG_URL, schema=pg_schema, pool_size=3)
    await empty_postgres(database)
    yield database
    await database.dispose()


def settings_for(schema: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": PG_URL,
        "database_schema": schema,
        "monitor_enabled": False,
        "broadcast_channel": f"ot-test-{uuid.uuid4().hex[:8]}",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class Instance:
    """One app instance in this process, with its own Database object (as a separate process has)."""

    def __init__(self, address: str, app: Any, http: httpx.AsyncClient) -> None:
        self.address, self.app, self.http = address, app, http

    @property
    def bus(self) -> EventBus:
        bus: EventBus | None = self.app.state.ordertrack.services.bus
        assert bus is not None, "the app's bus runs while the app does"
        return bus


def socket_of(subscriber: Subscriber) -> ClientConnection:
    """The websocket under a started subscriber's gql transport."""
    socket = subscriber.transport.adapter.websocket
    assert socket is not None, "the subscriber is connected"
    return socket


async def start_instances(
    stack: AsyncExitStack, settings: Settings, clock: FrozenClock, count: int = 2, send_buffer: int | None = None
) -> list[Instance]:
    instances = []
    for _ in range(count):
        db = Database(settings.database_url, schema=settings.database_schema, pool_size=3)
        stack.push_async_callback(db.dispose)
        app = create_app(settings, db=db, clock=clock)
        address = await stack.enter_async_context(serve_app(app, send_buffer))
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://{address}", timeout=10))
        instances.append(Instance(address, app, http))
    return instances


async def notes(api: Api, order_id: str, *texts: str) -> None:
    for text in texts:
        await api.ok(NOTE, {"id": order_id, "text": text})


def texts(sub: Subscriber) -> list[str]:
    return [e["after"]["text"] for e in sub.events]


async def test_a_change_made_on_one_process_reaches_a_subscriber_of_another_through_redis(pg: Database, pg_schema: str) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    clock = FrozenClock(START)
    staff_token = await issue_token(pg, clock, Role.STAFF, "staff")
    viewer_token = await issue_token(pg, clock, Role.VIEWER, "dash")
    env = {
        "DATABASE_URL": PG_URL,
        "DATABASE_SCHEMA": pg_schema,
        "BROADCAST_URL": REDIS_URL,
        "BROADCAST_CHANNEL": f"ot-test-{uuid.uuid4().hex[:8]}",
        "MONITOR_ENABLED": "false",
        "BUS_POLL_INTERVAL_SECONDS": "600",  # so only the broker can carry the events in time
    }
    a, b = ServiceProcess(env), ServiceProcess(env)
    try:
        await asyncio.gather(a.astart(timeout=90), b.astart(timeout=90))
        async with httpx.AsyncClient(base_url=f"http://{a.address}", timeout=10) as http_a:
            staff_a = Api(http_a, staff_token)
            order = await create_order(staff_a, clock.now())
            on_b = await subscribe(b.address, viewer_token, ORDER_EVENTS, {"id": order["id"]})
            on_a = await subscribe(a.address, viewer_token, ORDER_EVENTS, {"id": order["id"]})
            try:
                await notes(staff_a, order["id"], "one", "two", "three")
                await on_b.wait_for(3, timeout=10)
                await on_a.wait_for(3, timeout=10)
                assert texts(on_b) == texts(on_a) == ["one", "two", "three"]
                assert on_b.sequences == on_a.sequences
            finally:
                await on_a.close()
                await on_b.close()
    finally:
        a.stop()
        b.stop()


async def test_processes_can_share_events_through_postgres_notify(pg: Database, pg_schema: str) -> None:
    clock = FrozenClock(START)
    settings = settings_for(pg_schema, broadcast_url=PG_URL, bus_poll_interval_seconds=600)
    async with AsyncExitStack() as stack:
        a, b = await start_instances(stack, settings, clock)
        staff_a = Api(a.http, await issue_token(pg, clock, Role.STAFF, "staff"))
        order = await create_order(staff_a, clock.now())
        await wait_until(b.bus.connected.is_set, timeout=10, what="the postgres broker")
        sub = await subscribe(b.address, await issue_token(pg, clock, Role.VIEWER, "dash"), ORDER_EVENTS, {"id": order["id"]})
        try:
            await notes(staff_a, order["id"], "via NOTIFY", "x" * 2000, "y" * 2000, "after the big ones")
            await sub.wait_for(4)
            assert texts(sub)[0] == "via NOTIFY" and texts(sub)[-1] == "after the big ones"
        finally:
            await sub.close()


async def test_subscribers_survive_a_broker_restart_and_get_what_was_missed_from_the_log(pg: Database, pg_schema: str) -> None:
    redis = RedisServer()
    redis.start()
    clock = FrozenClock(START)
    # The log poll is off (10 min): what was missed must come from the backfill after reconnecting.
    settings = settings_for(
        pg_schema, broadcast_url=redis.url, bus_poll_interval_seconds=600, bus_heartbeat_seconds=0.3, bus_reconnect_max_seconds=1
    )
    try:
        async with AsyncExitStack() as stack:
            a, b = await start_instances(stack, settings, clock)
            staff_a = Api(a.http, await issue_token(pg, clock, Role.STAFF, "staff"))
            order = await create_order(staff_a, clock.now())
            await wait_until(lambda: a.bus.connected.is_set() and b.bus.connected.is_set(), what="both on redis")
            viewer = await issue_token(pg, clock, Role.VIEWER, "dash")
            sub = await subscribe(b.address, viewer, ORDER_EVENTS, {"id": order["id"]})
            on_a = await subscribe(a.address, viewer, ORDER_EVENTS, {"id": order["id"]})
            try:
                await notes(staff_a, order["id"], "before")
                await sub.wait_for(1)
                await on_a.wait_for(1)

                redis.stop()
                await wait_until(lambda: not b.bus.connected.is_set(), timeout=10, what="b to notice the broker is gone")
                await notes(staff_a, order["id"], "while down 1", "while down 2")
                await on_a.wait_for(3)  # a delivers them to its own subscriber at once ...
                assert texts(sub) == ["before"]  # ... and nothing can carry them to b now

                redis.start()
                await wait_until(lambda: a.bus.connected.is_set() and b.bus.connected.is_set(), timeout=15, what="reconnects")
                await sub.wait_for(3)
                assert texts(sub) == ["before", "while down 1", "while down 2"]

                await notes(staff_a, order["id"], "after", "last")
                await sub.wait_for(5)  # nothing twice: "last" comes right after "after"
                assert texts(sub) == ["before", "while down 1", "while down 2", "after", "last"]
                assert sub.sequences == sorted(set(sub.sequences))
                assert b.bus.reconnects >= 1
            finally:
                await sub.close()
                await on_a.close()
    finally:
        redis.stop()


async def test_with_the_broker_down_events_still_arrive_from_the_log_poll(pg: Database, pg_schema: str) -> None:
    redis = RedisServer()
    redis.start()
    clock = FrozenClock(START)
    settings = settings_for(pg_schema, broadcast_url=redis.url, bus_poll_interval_seconds=0.5, bus_heartbeat_seconds=0.3)
    try:
        async with AsyncExitStack() as stack:
            a, b = await start_instances(stack, settings, clock)
            staff_a = Api(a.http, await issue_token(pg, clock, Role.STAFF, "staff"))
            order = await create_order(staff_a, clock.now())
            sub = await subscribe(b.address, await issue_token(pg, clock, Role.VIEWER, "dash"), ORDER_EVENTS, {"id": order["id"]})
            try:
                redis.stop()
                await notes(staff_a, order["id"], "no broker", "still none")
                await sub.wait_for(2, timeout=10)
                assert texts(sub) == ["no broker", "still none"]
                await wait_until(lambda: not b.bus.connected.is_set(), timeout=5, what="b to notice")
                await notes(staff_a, order["id"], "noticed")
                await sub.wait_for(3, timeout=10)
            finally:
                await sub.close()
    finally:
        redis.stop()


def small_receive_buffer_socket(address: str) -> socket.socket:
    """A client socket with a tiny receive window, so a client that stops reading stalls the server soon."""
    host, port = address.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    return sock


async def test_a_slow_consumer_is_cut_off_without_holding_back_the_others(pg: Database, pg_schema: str) -> None:
    redis = RedisServer()
    redis.start()
    clock = FrozenClock(START)
    settings = settings_for(pg_schema, broadcast_url=redis.url, bus_buffer_size=8)
    try:
        async with AsyncExitStack() as stack:
            (server,) = await start_instances(stack, settings, clock, count=1, send_buffer=8192)
            staff = Api(server.http, await issue_token(pg, clock, Role.STAFF, "staff"))
            order = await create_order(staff, clock.now())
            token = await issue_token(pg, clock, Role.VIEWER, "dash")
            fast = await subscribe(server.address, token, ORDER_EVENTS, {"id": order["id"]})
            slow = Subscriber(
                server.address,
                token,
                ORDER_EVENTS,
                {"id": order["id"]},
                connect_args={"sock": small_receive_buffer_socket(server.address), "ping_interval": None},
            )
            await slow.start()
            try:
                await wait_until(lambda: server.bus.subscriber_count == 2, timeout=5, what="both to be registered")
                socket_of(slow).transport.pause_reading()  # the client stops reading
                written = 0
                while server.bus.subscriber_count == 2 and written < 400:
                    await notes(staff, order["id"], f"{written:04d} " + secrets.token_urlsafe(1400))  # incompressible
                    written += 1
                assert server.bus.subscriber_count == 1, "the slow consumer was never cut off"
                await notes(staff, order["id"], *(f"{n:04d} tail" for n in range(written, written + 3)))
                written += 3

                await fast.wait_for(written)  # the fast one got everything, in order
                assert [t[:4] for t in texts(fast)] == [f"{n:04d}" for n in range(written)]

                socket_of(slow).transport.resume_reading()
                await wait_until(slow.ended.is_set, timeout=15, what="the slow consumer's stream to end")
                assert slow.errors and slow.errors[0]["extensions"]["code"] == "SLOW_CONSUMER", (slow.errors, slow.failure)
                got = len(slow.events)
                assert [t[:4] for t in texts(slow)] == [f"{n:04d}" for n in range(got)]
                assert got < written

                again = await subscribe(server.address, token, ORDER_EVENTS, {"id": order["id"], "after": slow.last_cursor})
                try:
                    await again.wait_for(written - got)
                    assert [t[:4] for t in texts(slow) + texts(again)] == [f"{n:04d}" for n in range(written)]
                finally:
                    await again.close()
            finally:
                with contextlib.suppress(Exception):
                    socket_of(slow).transport.resume_reading()
                await fast.close()
                await slow.close()
    finally:
        redis.stop()
