"""Following orders live over real websockets (gql client, real uvicorn): every stream, resume, refusal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from gql import GraphQLRequest
from websockets.typing import Subprotocol

from app.auth import SYSTEM, Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order
from tests.launcher import serve_app
from tests.live import (
    EVENT_FIELDS,
    LEGACY_WS,
    TRANSPORT_WS,
    Subscriber,
    connect_error,
    log_cursor,
    subscribe,
    wait_until,
)

ORDER_EVENTS = f"subscription($id: ID!, $after: String) {{ orderEvents(orderId: $id, after: $after) {{ {EVENT_FIELDS} }} }}"
MATCHING = f"subscription($filter: OrderStreamFilter, $after: String) {{ orderEventsMatching(filter: $filter, after: $after) {{ {EVENT_FIELDS} }} }}"
ALERTS = f"subscription($after: String) {{ jeopardyAlerts(after: $after) {{ {EVENT_FIELDS} }} }}"
PARTY = (
    f"subscription($partyId: ID, $after: String) {{ partyOrderEvents(partyId: $partyId, after: $after) {{ {EVENT_FIELDS} }} }}"
)
NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"
STATE = "mutation($id: ID!, $state: OrderState!, $reason: String) { changeOrderState(id: $id, state: $state, reason: $reason) { state version } }"


class Live:
    """A running server plus API clients over real HTTP."""

    def __init__(self, address: str, app: Any, db: Database, clock: FrozenClock, http: httpx.AsyncClient) -> None:
        self.address, self.app, self.db, self.clock, self.http = address, app, db, clock, http
        self.tokens: dict[str, str] = {}

    async def token(self, role: Role, name: str, party_id: int | None = None) -> str:
        return await issue_token(self.db, self.clock, role, name, party_id)

    async def api(self, role: Role = Role.STAFF) -> Api:
        return Api(self.http, await self.token(role, f"{role.value}-{len(self.tokens)}"))

    async def note(self, staff: Api, order_id: str, text: str) -> None:
        await staff.ok(NOTE, {"id": order_id, "text": text})

    async def record(self, type: str, **fields: Any) -> None:
        """An event as another domain writes it (the jeopardy monitor, party orders)."""
        async with self.db.write(SYSTEM, self.clock.now()) as uow:
            uow.record(type, **fields)


def live_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite:///unused.db",
        "monitor_enabled": False,
        "bus_poll_interval_seconds": 0.5,
        "max_subscriptions_per_connection": 3,
        "ws_keep_alive_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def live(db: Database, clock: FrozenClock) -> AsyncIterator[Live]:
    app = create_app(live_settings(), db=db, clock=clock)
    async with serve_app(app) as address, httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        yield Live(address, app, db, clock, http)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_dashboard_follows_every_event_of_one_customer_order(live: Live, protocol: str) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    other = await create_order(staff, live.clock.now())
    viewer_token = await live.token(Role.VIEWER, "dash")
    sub = await subscribe(live.address, viewer_token, ORDER_EVENTS, {"id": order["id"]}, protocol=protocol)
    try:
        await live.note(staff, order["id"], "called the customer")
        await live.note(staff, other["id"], "not this one")
        await staff.ok(STATE, {"id": order["id"], "state": "IN_PROGRESS"})
        await live.record(
            "partyOrderStateChanged", entity="partyOrder", entity_id=1, order_id=int(order["id"]), party_order_id=1, party_id=7
        )
        await live.note(staff, order["id"], "last")  # events come in order: nothing else came before this one
        events = await sub.wait_for(4)
        assert [e["type"] for e in sub.events] == ["noteAdded", "orderStateChanged", "partyOrderStateChanged", "noteAdded"]
        assert {e["orderId"] for e in sub.events} == {order["id"]}
        assert events[1]["before"] == {"state": "acknowledged"} and events[1]["after"] == {"state": "inProgress"}
        assert sub.sequences == sorted(sub.sequences) and all(e["cursor"] for e in events)
    finally:
        await sub.close()


async def test_a_resumed_subscription_misses_nothing_and_repeats_nothing(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "dash")
    first = await subscribe(live.address, token, ORDER_EVENTS, {"id": order["id"]})
    for n in range(3):
        await live.note(staff, order["id"], f"before the drop {n}")
    await first.wait_for(3)
    cursor = first.last_cursor
    await first.close()
    for n in range(4):  # while the client is away
        await live.note(staff, order["id"], f"while away {n}")

    async def keep_writing() -> None:
        for n in range(5):  # while it replays and after
            await live.note(staff, order["id"], f"during the replay {n}")

    writer = asyncio.create_task(keep_writing())
    second = Subscriber(live.address, token, ORDER_EVENTS, {"id": order["id"], "after": cursor})
    await second.start()
    try:
        await writer
        await live.note(staff, order["id"], "last")
        await second.wait_for(10)
        texts = [e["after"]["text"] for e in second.events]
        assert texts == [f"while away {n}" for n in range(4)] + [f"during the replay {n}" for n in range(5)] + ["last"]
        assert second.sequences == sorted(set(second.sequences))
        assert min(second.sequences) == first.sequences[-1] + 1
    finally:
        await second.close()


async def test_a_client_that_saw_no_event_yet_resumes_from_the_log_head_cursor(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    viewer = await live.api(Role.VIEWER)
    head = (await viewer.ok("{ eventLogCursor }"))["eventLogCursor"]
    await live.note(staff, order["id"], "before anyone listened")  # e.g. while the socket was still opening
    sub = await subscribe(live.address, viewer.token, ORDER_EVENTS, {"id": order["id"], "after": head})
    try:
        await sub.wait_for(1)
        assert sub.events[0]["after"] == {"text": "before anyone listened"}
    finally:
        await sub.close()


async def test_a_dashboard_follows_the_orders_matching_its_filter(live: Live) -> None:
    staff = await live.api()
    mine = await create_order(staff, live.clock.now(), customerId="CUST-DASH")
    theirs = await create_order(staff, live.clock.now(), customerId="CUST-OTHER")
    token = await live.token(Role.VIEWER, "dash")
    by_customer = await subscribe(live.address, token, MATCHING, {"filter": {"customerId": "CUST-DASH"}})
    in_progress = await subscribe(live.address, token, MATCHING, {"filter": {"states": ["IN_PROGRESS"]}})
    try:
        await live.note(staff, theirs["id"], "other customer")
        await live.note(staff, mine["id"], "acknowledged still")  # not in progress yet
        await staff.ok(STATE, {"id": mine["id"], "state": "IN_PROGRESS"})
        await live.note(staff, mine["id"], "now in progress")
        await staff.ok(
            STATE, {"id": mine["id"], "state": "HELD", "reason": "customer asked"}
        )  # leaves the filter: that event still comes
        await live.note(staff, mine["id"], "held now")
        # Last, one event for each dashboard: events come in order, so what it let through came before.
        await staff.ok(STATE, {"id": theirs["id"], "state": "IN_PROGRESS"})
        await live.note(staff, mine["id"], "last")
        await by_customer.wait_for(6)
        await in_progress.wait_for(4)
        assert {e["orderId"] for e in by_customer.events} == {mine["id"]}
        assert by_customer.events[-1]["after"] == {"text": "last"}
        assert [e["type"] for e in in_progress.events] == [
            "orderStateChanged",
            "noteAdded",
            "orderStateChanged",
            "orderStateChanged",
        ]
        assert in_progress.events[2]["after"] == {"state": "held"}
        assert [e["orderId"] for e in in_progress.events] == [mine["id"]] * 3 + [theirs["id"]]
    finally:
        await by_customer.close()
        await in_progress.close()


async def test_a_dashboard_follows_orders_in_jeopardy_and_orders_of_one_party(live: Live) -> None:
    from app.orders.models import CustomerOrder
    from tests.party import create_party, order_with_party_items

    staff = await live.api()
    party = await create_party(staff)
    with_party = await order_with_party_items(staff, live.clock.now(), party["id"])
    internal = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "noc")
    in_jeopardy = await subscribe(live.address, token, MATCHING, {"filter": {"jeopardyLevels": ["JEOPARDY"]}})
    of_party = await subscribe(live.address, token, MATCHING, {"filter": {"partyId": party["id"]}})

    async def set_level(order_id: str, level: str) -> None:  # as the jeopardy monitor does
        async with live.db.write(SYSTEM, live.clock.now()) as uow:
            row = await uow.session.get(CustomerOrder, int(order_id))
            assert row is not None
            before, row.jeopardy_level = row.jeopardy_level, level
            uow.record(
                "jeopardyChanged",
                entity="order",
                entity_id=row.id or 0,
                order_id=row.id,
                before={"jeopardy_level": before},
                after={"jeopardy_level": level},
            )

    try:
        await set_level(with_party["id"], "jeopardy")
        await live.note(staff, with_party["id"], "in jeopardy")
        await live.note(staff, internal["id"], "fine")
        await set_level(with_party["id"], "none")  # recovers: that event still reaches the dashboard
        await live.note(staff, with_party["id"], "recovered")
        # Last, one event for each dashboard: events come in order, so what it let through came before.
        await set_level(internal["id"], "jeopardy")
        await live.note(staff, with_party["id"], "last")
        await in_jeopardy.wait_for(4)
        await of_party.wait_for(5)
        assert [e["type"] for e in in_jeopardy.events] == ["jeopardyChanged", "noteAdded", "jeopardyChanged", "jeopardyChanged"]
        assert [e["orderId"] for e in in_jeopardy.events] == [with_party["id"]] * 3 + [internal["id"]]
        assert {e["orderId"] for e in of_party.events} == {with_party["id"]}
        assert of_party.events[-1]["after"] == {"text": "last"}
    finally:
        await in_jeopardy.close()
        await of_party.close()


async def test_the_jeopardy_alert_stream_carries_jeopardy_and_escalation_events_only(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    oid = int(order["id"])
    sub = await subscribe(live.address, await live.token(Role.VIEWER, "noc"), ALERTS)
    try:
        await live.note(staff, order["id"], "not an alert")
        await live.record(
            "jeopardyChanged",
            entity="order",
            entity_id=oid,
            order_id=oid,
            before={"jeopardy_level": "none"},
            after={"jeopardy_level": "jeopardy"},
        )
        await live.record("escalated", entity="order", entity_id=oid, order_id=oid, after={"escalation_level": 1})
        await live.record("escalationLowered", entity="order", entity_id=oid, order_id=oid, after={"escalation_level": 0})
        await live.note(staff, order["id"], "not an alert either")
        await live.record(
            "jeopardyChanged",
            entity="order",
            entity_id=oid,
            order_id=oid,
            before={"jeopardy_level": "jeopardy"},
            after={"jeopardy_level": "none"},
        )
        await sub.wait_for(4)
        assert [e["type"] for e in sub.events] == ["jeopardyChanged", "escalated", "escalationLowered", "jeopardyChanged"]
        assert sub.events[0]["actorRole"] == "system"
    finally:
        await sub.close()


async def test_a_partner_follows_its_own_party_orders_only(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    oid = int(order["id"])
    partner = await subscribe(live.address, await live.token(Role.PARTNER, "fibreco", party_id=7), PARTY)
    staff_sub = await subscribe(live.address, await live.token(Role.STAFF, "desk"), PARTY)
    one_party = await subscribe(live.address, await live.token(Role.VIEWER, "desk2"), PARTY, {"partyId": "8"})
    try:
        await live.note(staff, order["id"], "internal note, not for partners")
        await live.record("partyOrderCreated", entity="partyOrder", entity_id=1, order_id=oid, party_order_id=1, party_id=7)
        await live.record("partyOrderCreated", entity="partyOrder", entity_id=2, order_id=oid, party_order_id=2, party_id=8)
        await live.record("partyProgressReported", entity="partyOrder", entity_id=1, order_id=oid, party_order_id=1, party_id=7)
        # Last, one event for each party: what a stream lets through came before its party's last one.
        await live.record("partyOrderCreated", entity="partyOrder", entity_id=3, order_id=oid, party_order_id=3, party_id=8)
        await live.record("partyOrderCreated", entity="partyOrder", entity_id=4, order_id=oid, party_order_id=4, party_id=7)
        await staff_sub.wait_for(5)
        await partner.wait_for(3)
        await one_party.wait_for(2)
        assert [e["partyOrderId"] for e in partner.events] == ["1", "1", "4"]
        assert [e["partyOrderId"] for e in staff_sub.events] == ["1", "2", "1", "3", "4"]
        assert [e["partyOrderId"] for e in one_party.events] == ["2", "3"]
    finally:
        for s in (partner, staff_sub, one_party):
            await s.close()


async def test_streams_refuse_callers_without_the_right_role(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    partner_token = await live.token(Role.PARTNER, "fibreco", party_id=7)
    cases = [
        (partner_token, ORDER_EVENTS, {"id": order["id"]}, "FORBIDDEN"),
        (partner_token, ALERTS, {}, "FORBIDDEN"),
        (partner_token, PARTY, {"partyId": "8"}, "FORBIDDEN"),
        (await live.token(Role.VIEWER, "v"), ORDER_EVENTS, {"id": "999999"}, "NOT_FOUND"),
        (await live.token(Role.VIEWER, "v2"), ORDER_EVENTS, {"id": order["id"], "after": "bm90LWEtY3Vyc29y"}, "INVALID_INPUT"),
    ]
    for token, query, variables, code in cases:
        sub = await subscribe(live.address, token, query, variables)
        try:
            await wait_until(sub.ended.is_set, timeout=5, what="the refusal")
            assert sub.events == []
            assert sub.errors and sub.errors[0]["extensions"]["code"] == code, (query, sub.errors, sub.failure)
        finally:
            await sub.close()


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_connection_without_a_valid_token_is_refused_before_any_data(live: Live, protocol: str) -> None:
    for token in (None, "otk_not-a-real-token"):
        error = await connect_error(live.address, token, protocol)
        text = repr(error) + repr(getattr(error, "__cause__", ""))
        if protocol == TRANSPORT_WS:
            assert "4403" in text or "Forbidden" in text, text
        else:
            assert "UNAUTHENTICATED" in text, text
    malformed = await connect_error(live.address, None, protocol, payload={"authorization": "Basic abc"})
    text = repr(malformed) + repr(getattr(malformed, "__cause__", ""))
    if protocol == TRANSPORT_WS:  # refused in connection_init like a bad token, with no data sent
        assert "4403" in text or "Forbidden" in text, text
    else:
        assert "UNAUTHENTICATED" in text, text


async def test_a_connection_holds_a_limited_number_of_subscriptions(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    sub = Subscriber(live.address, await live.token(Role.VIEWER, "dash"), ORDER_EVENTS, {"id": order["id"]})
    head = await log_cursor(live.address, sub.token)  # each starts after it: the note below reaches all three
    session = await sub.client.connect_async(reconnecting=False)
    results: list[Any] = []

    async def follow() -> None:
        try:
            async for result in session.subscribe(
                GraphQLRequest(ORDER_EVENTS, variable_values={"id": order["id"], "after": head})
            ):
                results.append(result)
        except Exception as exc:  # noqa: BLE001  the refusal is kept for the test to look at
            results.append(exc)

    tasks = [asyncio.create_task(follow()) for _ in range(4)]  # the limit in live_settings is 3
    try:
        await wait_until(lambda: len(results) >= 1, timeout=5, what="the refusal of the 4th")
        assert "Subscription limit reached" in repr(results[0])
        bus = live.app.state.ordertrack.services.bus
        await wait_until(lambda: bus.subscriber_count == 3, timeout=5, what="the three to start")
        await live.note(staff, order["id"], "reaches the three")
        await wait_until(lambda: len(results) >= 4, timeout=5, what=f"the three events {results}")
        assert sum(isinstance(r, dict) for r in results) == 3
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await sub.close()


KEEP_ALIVE_ROUNDS = 5
KEEP_ALIVE_BOUND = 1.0  # seconds a client waits for each keep-alive before it gives the connection up


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_an_idle_subscription_is_kept_alive(live: Live, protocol: str) -> None:
    """Idle, a subscription sees keep-alives, each within the client's bound, and stays open for the next event.

    legacy graphql-ws: the server sends 'ka' every 0.2 s (``ws_keep_alive_seconds`` of the live app);
    graphql-transport-ws: the client pings and the server answers each with a pong.
    """
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "dash")
    variables = {"id": order["id"], "after": await log_cursor(live.address, token)}
    async with websockets.connect(f"ws://{live.address}/graphql", subprotocols=[Subprotocol(protocol)]) as conn:

        async def frame() -> dict[str, Any]:
            return dict(json.loads(await asyncio.wait_for(conn.recv(), timeout=KEEP_ALIVE_BOUND)))

        await conn.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        kind = "subscribe" if protocol == TRANSPORT_WS else "start"
        await conn.send(json.dumps({"id": "1", "type": kind, "payload": {"query": ORDER_EVENTS, "variables": variables}}))
        assert (await frame())["type"] == "connection_ack"
        for _ in range(KEEP_ALIVE_ROUNDS):
            if protocol == TRANSPORT_WS:
                await conn.send(json.dumps({"type": "ping"}))
                assert (await frame())["type"] == "pong"
            else:
                assert (await frame())["type"] == "ka"
        await live.note(staff, order["id"], "after a quiet while")
        while (got := await asyncio.wait_for(conn.recv(), timeout=10)) and json.loads(got)["type"] == "ka":
            pass
        message = json.loads(got)
        assert message["type"] == ("next" if protocol == TRANSPORT_WS else "data"), message
        assert message["payload"]["data"]["orderEvents"]["type"] == "noteAdded"


async def test_a_client_can_follow_an_order_over_server_sent_events(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "sse")
    body = {"query": ORDER_EVENTS, "variables": {"id": order["id"], "after": await log_cursor(live.address, token)}}
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    received: list[dict[str, Any]] = []

    async def read() -> None:
        async with live.http.stream("POST", "/graphql", json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip():
                    received.append(json.loads(line[5:])["data"]["orderEvents"])

    reader = asyncio.create_task(read())
    try:
        await live.note(staff, order["id"], "over SSE")  # replayed from `after` if the stream opens later
        await wait_until(lambda: len(received) >= 1, timeout=10, what="an SSE event")
        assert received[0]["type"] == "noteAdded" and received[0]["cursor"]
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


async def test_an_event_recorded_while_nobody_publishes_still_arrives_from_the_log(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    sub = await subscribe(live.address, await live.token(Role.VIEWER, "dash"), ORDER_EVENTS, {"id": order["id"]})
    try:
        publishers, live.db.publishers[:] = list(live.db.publishers), []
        try:  # as if written by a process that could not reach the broker
            await live.note(staff, order["id"], "unpublished")
        finally:
            live.db.publishers[:] = publishers
        events = await sub.wait_for(1, timeout=5)  # the log poll (0.5 s here) brings it
        assert events[0]["after"] == {"text": "unpublished"}
    finally:
        await sub.close()


async def test_a_partner_follows_the_party_orders_it_was_given_and_resumes_from_its_cursor(live: Live) -> None:
    from tests.party import (
        REPORT,
        acknowledge,
        create_party,
        key,
        order_with_party_items,
        partner_api,
        requisition,
    )

    staff = await live.api()
    fibre, towers = await create_party(staff), await create_party(staff)
    fibre_partner = await partner_api(live.http, live.db, live.clock, fibre["id"])
    towers_partner = await partner_api(live.http, live.db, live.clock, towers["id"])
    order = await order_with_party_items(staff, live.clock.now(), fibre["id"], towers["id"])
    sub = await subscribe(live.address, fibre_partner.token, PARTY)
    try:
        pos = {po["partyId"]: po for po in await requisition(staff, order["id"])}
        mine, theirs = pos[fibre["id"]], pos[towers["id"]]
        await acknowledge(fibre_partner, mine["id"], live.clock.now())
        await acknowledge(towers_partner, theirs["id"], live.clock.now())
        await fibre_partner.ok(
            REPORT, {"id": mine["id"], "key": key(), "input": {"percentComplete": 20}}
        )  # after the towers event
        await wait_until(lambda: "partyProgressReported" in [e["type"] for e in sub.events], what="fibre's first report")
        assert {e["partyOrderId"] for e in sub.events} == {mine["id"]}
        assert "partyOrderAcknowledged" in [e["type"] for e in sub.events]
        cursor, last_seen = sub.last_cursor, sub.sequences[-1]
    finally:
        await sub.close()
    await fibre_partner.ok(REPORT, {"id": mine["id"], "key": key(), "input": {"percentComplete": 40, "note": "trenching"}})
    await towers_partner.ok(REPORT, {"id": theirs["id"], "key": key(), "input": {"percentComplete": 10}})
    await fibre_partner.ok(REPORT, {"id": mine["id"], "key": key(), "input": {"percentComplete": 50}})  # after the towers report
    again = await subscribe(live.address, fibre_partner.token, PARTY, {"after": cursor})
    try:
        await wait_until(lambda: [e["type"] for e in again.events].count("partyProgressReported") == 2, what="both reports")
        assert [e["type"] for e in again.events][-1] == "partyProgressReported"  # after its state change
        assert {e["partyOrderId"] for e in again.events} == {mine["id"]}
        assert min(again.sequences) > last_seen
    finally:
        await again.close()
