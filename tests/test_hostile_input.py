"""A careless or hostile caller sends ids no column can hold, cursors it made itself, and websocket
messages of the wrong shape: each is refused with a code (INVALID_INPUT, or a 4400 close) before any
SQL runs, nothing changes, and nothing is logged as an error."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.clock import FrozenClock
from app.db import Database
from app.errors import Unavailable
from tests.api import Api
from tests.factories import create_order
from tests.launcher import serve_app
from tests.live import LEGACY_WS, TRANSPORT_WS
from tests.party import create_party, partner_api
from tests.security_helpers import log_position

NOTE = 'mutation($id: ID!) { addOrderNote(orderId: $id, text: "hello") { id } }'
PARTY_ORDER = "query($id: ID!) { partyOrder(id: $id) { id } }"
ORDERS_AFTER = "query($after: String) { customerOrders(first: 5, after: $after) { edges { cursor } } }"
TIMELINE_AFTER = "query($id: ID!, $after: String) { orderTimeline(orderId: $id, after: $after) { edges { cursor } } }"
BEYOND_INT32 = ["2147483648", "9223372036854775807", "9223372036854775808", str(2**70), "-1", "0"]


def cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


CRAFTED_LIST_CURSORS = [
    cursor("2027-03-01T09:00:00", 5),  # a naive datetime
    cursor("2027-03-01T09:00:00+00:00", 2**70),  # an id no column holds
    cursor("0001-01-01T00:00:00+05:00", 1),  # before year 1 in UTC
    cursor("2027-03-01T09:00:00+00:00", True),
    cursor(None, 1),
    "not base64 at all!",
    base64.urlsafe_b64encode(b"\xff\xfe garbage").decode(),
]


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.set_level(logging.WARNING)
    return caplog.records


def assert_nothing_logged_as_error(records: list[logging.LogRecord]) -> None:
    assert not [r for r in records if r.levelno >= logging.ERROR], [r.getMessage() for r in records if r.levelno >= logging.ERROR]


async def test_a_partner_asking_for_an_id_beyond_any_column_is_told_it_is_invalid(
    http: httpx.AsyncClient, staff: Api, db: Database, clock: FrozenClock, errors_logged: list[logging.LogRecord]
) -> None:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    for ident in BEYOND_INT32:
        error = await partner.error(PARTY_ORDER, {"id": ident})
        assert error["extensions"] == {"code": "INVALID_INPUT", "field": "id"}, (ident, error)
    assert_nothing_logged_as_error(errors_logged)


async def test_a_note_on_an_order_id_beyond_any_column_changes_nothing(
    staff: Api, db: Database, clock: FrozenClock, errors_logged: list[logging.LogRecord]
) -> None:
    await create_order(staff, clock.now())
    before = await log_position(db)
    for ident in BEYOND_INT32:
        assert await staff.code(NOTE, {"id": ident}) == "INVALID_INPUT", ident
    assert await staff.code(NOTE, {"id": "2147483647"}) == "NOT_FOUND"  # the largest id there can be
    assert await log_position(db) == before
    assert_nothing_logged_as_error(errors_logged)


async def test_crafted_cursors_are_refused_as_invalid_input(
    staff: Api, clock: FrozenClock, errors_logged: list[logging.LogRecord]
) -> None:
    order = await create_order(staff, clock.now())
    for after in CRAFTED_LIST_CURSORS:
        error = await staff.error(ORDERS_AFTER, {"after": after})
        assert error["extensions"] == {"code": "INVALID_INPUT", "field": "after"}, (after, error)
    for after in (cursor(2**63), cursor(-1), cursor("12"), cursor(1.5)):  # event cursors are 64-bit sequence numbers
        error = await staff.error(TIMELINE_AFTER, {"id": order["id"], "after": after})
        assert error["extensions"] == {"code": "INVALID_INPUT", "field": "after"}, (after, error)
    assert_nothing_logged_as_error(errors_logged)


async def test_a_cursor_this_api_gave_out_still_pages_on(staff: Api, clock: FrozenClock) -> None:
    for _ in range(3):
        await create_order(staff, clock.now())
    page = (await staff.ok("{ customerOrders(first: 2) { edges { cursor } } }"))["customerOrders"]["edges"]
    rest = (await staff.ok(ORDERS_AFTER, {"after": page[-1]["cursor"]}))["customerOrders"]["edges"]
    assert len(rest) == 1


async def closed_with(address: str, protocol: str, token: str, frame: str) -> tuple[int | None, str]:
    async with connect(f"ws://{address}/graphql", subprotocols=[Subprotocol(protocol)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(frame)
        try:
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        except ConnectionClosed as closed:
            return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "protocol,kind", [(TRANSPORT_WS, "subscribe"), (LEGACY_WS, "start")], ids=["graphql-transport-ws", "graphql-ws"]
)
async def test_a_websocket_message_of_the_wrong_shape_closes_the_socket_with_4400(
    protocol: str, kind: str, app: Starlette, staff: Api, errors_logged: list[logging.LogRecord]
) -> None:
    async with serve_app(app) as address:
        payloads: tuple[object, ...] = ("x", [], 5, None, {"query": 5}, {"query": "{ me { name } }", "variables": "x"})
        for payload in payloads:
            code, reason = await closed_with(
                address, protocol, str(staff.token), json.dumps({"type": kind, "id": "1", "payload": payload})
            )
            assert code == 4400 and reason, (payload, code)
        for frame in (
            "not json",
            "[1, 2]",
            '{"type": "bogus"}',
            json.dumps({"type": kind, "id": 7, "payload": {"query": "{ me { name } }"}}),
        ):
            code, _ = await closed_with(address, protocol, str(staff.token), frame)
            assert code == 4400, (frame, code)
    assert_nothing_logged_as_error(errors_logged)


async def test_queries_and_mutations_over_legacy_graphql_ws_answer_with_codes(
    app: Starlette, staff: Api, clock: FrozenClock, errors_logged: list[logging.LogRecord]
) -> None:
    order = await create_order(staff, clock.now())
    async with serve_app(app) as address, connect(f"ws://{address}/graphql", subprotocols=[Subprotocol(LEGACY_WS)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {staff.token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"

        async def answer(op_id: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            await ws.send(json.dumps({"type": "start", "id": op_id, "payload": {"query": query, "variables": variables or {}}}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == op_id and message["type"] in ("data", "error"):
                    return message

        assert (await answer("1", "{ me { name } }"))["payload"] == {"data": {"me": {"name": "sam.staff"}}}
        noted = await answer("2", NOTE, {"id": order["id"]})
        assert noted["payload"]["data"]["addOrderNote"]["id"]
        missing = await answer("3", NOTE, {"id": "424242"})
        assert missing["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        invalid = await answer("4", "{ nope }")
        assert invalid["type"] == "error" and invalid["payload"]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert_nothing_logged_as_error(errors_logged)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS], ids=["graphql-transport-ws", "graphql-ws"])
async def test_an_outage_at_connection_init_says_try_again_later_not_forbidden(
    protocol: str, app: Starlette, staff: Api, monkeypatch: pytest.MonkeyPatch, errors_logged: list[logging.LogRecord]
) -> None:
    import app.main as main

    async def unreachable(*_: object) -> None:
        raise Unavailable("The database is not reachable right now; retry shortly.")

    monkeypatch.setattr(main, "authenticate", unreachable)
    async with serve_app(app) as address, connect(f"ws://{address}/graphql", subprotocols=[Subprotocol(protocol)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer not-yet-cached"}}))
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await ws.recv())
                    assert message["type"] != "connection_ack"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    assert "retry" in closed.value.rcvd.reason
    assert_nothing_logged_as_error(errors_logged)
