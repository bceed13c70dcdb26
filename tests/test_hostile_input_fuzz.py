"""Whatever a signed-in caller sends as an id, a cursor or a websocket frame (either protocol), the
answer is a refusal with a code, never INTERNAL, and nothing is logged as an error: bad input
cannot flood the logs or the error metrics. Property-based (hypothesis) against the real server."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.conftest import issue_token
from tests.launcher import serve_app
from tests.live import LEGACY_WS, TRANSPORT_WS

EXAMPLES = 60
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))

# Operations taking an id ($id) and/or a cursor ($after); the sort decides the cursor's value type.
OPERATIONS = [
    "query($id: ID!) { customerOrder(id: $id) { id } }",
    "query($id: ID!) { partyOrder(id: $id) { id } }",
    'mutation($id: ID!) { addOrderNote(orderId: $id, text: "fuzz") { id } }',
    'mutation($id: ID!) { cancelPartyOrder(id: $id, reason: "fuzz") { id } }',
    "query($id: ID!, $after: String) { orderTimeline(orderId: $id, after: $after) { edges { cursor } } }",
    "query($after: String) { customerOrders(after: $after, sort: CREATED_AT) { edges { cursor } } }",
    "query($after: String) { customerOrders(after: $after, sort: SALES_REQUEST_REF) { edges { cursor } } }",
    "query($after: String) { customerOrders(after: $after, sort: PRIORITY) { edges { cursor } } }",
    "query($after: String) { partyOrders(after: $after, sort: NEEDED_BY) { edges { cursor } } }",
    "query($after: String) { parties(after: $after) { edges { cursor } } }",
    "query($id: ID, $after: String) { openChangeRequests(orderId: $id, partyId: $id, after: $after) { edges { cursor } } }",
    "query($id: ID) { partyOrders(filter: {partyId: $id, orderId: $id}) { edges { cursor } } }",
]
SUBSCRIPTION = "subscription($id: ID!, $after: String) { orderEvents(orderId: $id, after: $after) { sequence } }"

big_ints = st.integers(min_value=-(2**80), max_value=2**80)
ids = st.one_of(
    big_ints.map(str),
    st.sampled_from(["2147483647", "2147483648", "4294967296", "9223372036854775808", "0", "-1", "1e3", " 7", "٣", "0x10", ""]),
    st.text(max_size=24),
)
instants = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),  # naive
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2027-13-40T99:00:00Z"]),
)
cursor_values = st.one_of(
    big_ints, instants, st.text(max_size=30), st.none(), st.booleans(), st.floats(allow_nan=False), st.just("\x00")
)


def encoded(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


cursors = st.one_of(
    st.lists(cursor_values, max_size=3).map(encoded),  # crafted: the right shape, any values
    st.recursive(
        st.none() | st.booleans() | big_ints | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=8,
    ).map(encoded),
    st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode()),  # not JSON inside
    st.text(max_size=40),  # not even base64
    st.none(),
)

json_values = st.recursive(
    st.none() | st.booleans() | big_ints | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=4),
    max_leaves=10,
)


def operation_payloads() -> st.SearchStrategy[Any]:
    """``subscribe``/``start`` payloads: well-formed with hostile values, or any shape at all."""
    well_formed = st.fixed_dictionaries(
        {
            "query": st.sampled_from([SUBSCRIPTION, *OPERATIONS]) | st.text(max_size=30),
            "variables": st.fixed_dictionaries({"id": ids, "after": cursors}) | json_values,
        },
        optional={"operationName": json_values, "extensions": json_values},
    )
    return well_formed | json_values


def frames(types: list[str]) -> st.SearchStrategy[str]:
    """One websocket text frame: a protocol message with hostile parts, any JSON, or not JSON."""
    message = st.fixed_dictionaries(
        {"type": st.sampled_from(types) | json_values},
        optional={"id": st.text(min_size=1, max_size=8) | json_values, "payload": operation_payloads()},
    )
    return st.one_of(message.map(json.dumps), json_values.map(json.dumps), st.text(max_size=40))


OK_CLOSE_CODES = {1000, 4400, 4401, 4403, 4409, 4429}


def assert_coded(errors: list[dict[str, Any]] | dict[str, Any] | None, where: object) -> None:
    for error in [errors] if isinstance(errors, dict) else errors or []:
        code = (error.get("extensions") or {}).get("code")
        assert code and code != "INTERNAL", (where, error)


def probe_transport_ws(address: str, token: str, frame: str) -> None:
    with connect(f"ws://{address}/graphql", subprotocols=[Subprotocol(TRANSPORT_WS)], open_timeout=5, close_timeout=1) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        try:
            ws.send(frame)
            ws.send(json.dumps({"type": "ping"}))  # answered in order: the frame was dealt with by then
            while True:
                message = json.loads(ws.recv(timeout=10))
                assert_coded(
                    message.get("payload") if message["type"] == "error" else (message.get("payload") or {}).get("errors"), frame
                )
                if message["type"] == "pong":
                    return
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in OK_CLOSE_CODES, (frame, closed)


def probe_legacy_ws(address: str, token: str, frame: str) -> None:
    probe = f"probe-{uuid.uuid4().hex}"
    with connect(f"ws://{address}/graphql", subprotocols=[Subprotocol(LEGACY_WS)], open_timeout=5, close_timeout=1) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        try:
            ws.send(frame)
            ws.send(json.dumps({"type": "start", "id": probe, "payload": {"query": "{ me { name } }"}}))
            while True:
                message = json.loads(ws.recv(timeout=10))
                if message["type"] == "ka":
                    continue
                assert_coded(
                    message.get("payload") if message["type"] == "error" else (message.get("payload") or {}).get("errors"), frame
                )
                if message["type"] == "complete" and message.get("id") == probe:
                    return
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code in OK_CLOSE_CODES, (frame, closed)


def fuzz(address: str, token: str) -> None:
    """Runs in a worker thread: the server runs on the test's event loop."""
    with httpx.Client(base_url=f"http://{address}", headers={"authorization": f"Bearer {token}"}, timeout=30) as http:

        @FUZZ
        @given(query=st.sampled_from(OPERATIONS), id_=ids, after=cursors)
        def ids_and_cursors(query: str, id_: str, after: str | None) -> None:
            response = http.post("/graphql", json={"query": query, "variables": {"id": id_, "after": after}})
            assert response.status_code == 200, response.text
            assert_coded(response.json().get("errors"), (query, id_, after))

        ids_and_cursors()

    @FUZZ
    @given(frame=frames(["connection_init", "ping", "pong", "subscribe", "complete"]))
    def transport_ws_frames(frame: str) -> None:
        probe_transport_ws(address, token, frame)

    transport_ws_frames()

    @FUZZ
    @given(frame=frames(["connection_init", "connection_terminate", "start", "stop"]))
    def legacy_ws_frames(frame: str) -> None:
        probe_legacy_ws(address, token, frame)

    legacy_ws_frames()


async def test_no_id_cursor_or_websocket_frame_reaches_internal_or_the_error_log(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings_ = Settings(database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, _env_file=None)
    token = await issue_token(db, clock, Role.STAFF, "fuzz.staff")
    with caplog.at_level(logging.WARNING):
        async with serve_app(create_app(settings_, db=db, clock=clock)) as address:
            await asyncio.to_thread(fuzz, address, token)
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[:5]
