"""Subscribers over server-sent events that asked the same thing share their stream's fan-out group
rendering: one execution per event for all of them; subscribers who may see different things of an
event (app/event_visibility.py) never share one."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.auth import Role
from app.orders import queries
from tests.factories import create_order
from tests.live import wait_until
from tests.party import REPORT, acknowledge, create_party, key, order_with_party_items, partner_api, requisition
from tests.test_live_fanout import bus_of
from tests.test_live_subscriptions import (  # noqa: F401  the fixture
    MATCHING,
    Live,
    live,
)

PARTY = "subscription { partyOrderEvents { sequence cursor type orderId partyOrderId actor after } }"


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sequence number of each event whose ``cursor`` was resolved: one per execution of a selection with it."""
    resolved: list[int] = []
    cursor = queries.event_cursor

    def noted_cursor(seq: int) -> str:
        resolved.append(seq)
        return cursor(seq)

    monkeypatch.setattr(queries, "event_cursor", noted_cursor)
    return resolved


@contextlib.asynccontextmanager
async def sse(server: Live, token: str, query: str, variables: dict[str, Any], into: list[dict[str, Any]]) -> AsyncIterator[None]:
    """An open SSE subscription whose events are appended to ``into`` as they come."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}

    async def read() -> None:
        async with server.http.stream(
            "POST", "/graphql", json={"query": query, "variables": variables}, headers=headers
        ) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip():
                    message = json.loads(line[5:])
                    assert not message.get("errors"), message
                    into.append(next(iter(message["data"].values())))

    reader = asyncio.create_task(read())
    try:
        yield
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


def following(server: Live, count: int) -> bool:
    """Whether ``count`` subscribers are members of fan-out groups and done replaying (live from here on)."""
    members = [m for group in bus_of(server).groups.values() for m in group.members]
    return len(members) == count and all(m.after is not None for m in members)


async def test_sse_dashboards_with_the_same_subscription_get_each_event_from_one_execution(
    live: Live, executions: list[int]
) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "wall")
    walls: list[list[dict[str, Any]]] = [[] for _ in range(4)]
    async with contextlib.AsyncExitStack() as stack:
        for wall in walls:
            await stack.enter_async_context(sse(live, token, MATCHING, {"filter": {}}, wall))
        await wait_until(lambda: following(live, 4), timeout=10, what="four SSE dashboards following live")
        assert len(bus_of(live).groups) == 1, "the four follow one stream"
        executions.clear()
        for n in range(3):
            await live.note(staff, order["id"], f"note {n}")
        await wait_until(lambda: all(len(w) >= 3 for w in walls), timeout=10, what="three events on every wall")
    assert [e["after"]["text"] for e in walls[0]] == ["note 0", "note 1", "note 2"]
    assert all(wall == walls[0] for wall in walls)
    assert sorted(executions) == [e["sequence"] for e in walls[0]], "each event's selection ran once for all four"


async def test_subscribers_who_see_different_things_of_an_event_get_renderings_of_their_own(
    live: Live, executions: list[int]
) -> None:
    staff = await live.api()
    party = await create_party(staff)
    partner = await partner_api(live.http, live.db, live.clock, party["id"])
    order = await order_with_party_items(staff, live.clock.now(), party["id"])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], live.clock.now())
    seen: dict[str, list[dict[str, Any]]] = {"staff-1": [], "staff-2": [], "partner-1": [], "partner-2": []}
    tokens = {"staff": str(staff.token), "partner": str(partner.token)}
    async with contextlib.AsyncExitStack() as stack:
        for name, into in seen.items():
            await stack.enter_async_context(sse(live, tokens[name.split("-")[0]], PARTY, {}, into))
        await wait_until(lambda: following(live, 4), timeout=10, what="four SSE subscribers following live")
        executions.clear()
        await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 20, "note": "digging"}})
        await wait_until(lambda: all(len(s) >= 2 for s in seen.values()), timeout=10, what="the report for everyone")
    assert seen["staff-1"] == seen["staff-2"] and seen["partner-1"] == seen["partner-2"]
    enterprise, partners = seen["staff-1"], seen["partner-1"]
    assert [e["type"] for e in enterprise] == [e["type"] for e in partners] == ["partyOrderStateChanged", "partyProgressReported"]
    assert {e["orderId"] for e in enterprise} == {order["id"]}
    assert {e["orderId"] for e in partners} == {None}  # the customer order is enterprise-only
    assert enterprise[1]["actor"] == partners[1]["actor"] == f"partner-{party['id']}"
    assert sorted(executions) == sorted([e["sequence"] for e in enterprise] * 2), "one execution per event and principal"
