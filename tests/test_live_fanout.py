"""Many dashboards on one stream share the per-event work: one filter run, one execution, one encoding."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth import Role
from app.orders import queries
from tests.factories import create_order
from tests.live import LEGACY_WS, TRANSPORT_WS, Subscriber, subscribe, wait_until
from tests.test_live_subscriptions import MATCHING, ORDER_EVENTS, Live, live  # noqa: F401  the fixture


def bus_of(live: Live) -> Any:
    return live.app.state.ordertrack.services["bus"]


async def test_dashboards_on_one_stream_get_every_event_from_one_execution(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "wall")
    resolved: list[int] = []
    cursor = queries.event_cursor
    monkeypatch.setattr(queries, "event_cursor", lambda seq: resolved.append(seq) or cursor(seq))
    walls: list[Subscriber] = []
    try:
        for n in range(6):
            walls.append(await subscribe(live.address, token, MATCHING, {"filter": {}},
                                         protocol=(TRANSPORT_WS, LEGACY_WS)[n % 2]))
        bus = bus_of(live)
        assert bus.subscriber_count == 6
        assert len(bus.groups) == 1, "the six follow one stream"

        for n in range(3):
            await live.note(staff, order["id"], f"note {n}")
        for wall in walls:
            await wall.wait_for(3)

        first = walls[0].events
        assert [e["after"]["text"] for e in first] == ["note 0", "note 1", "note 2"]
        assert all(wall.events == first for wall in walls), "both protocols carry the same payloads"
        assert sorted(resolved) == [e["sequence"] for e in first], "each event's selection ran once for all six"
    finally:
        for wall in walls:
            await wall.close()


async def test_a_follower_that_leaves_does_not_disturb_the_others_and_the_last_one_out_ends_the_group(live: Live) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "desk")
    leaving = await subscribe(live.address, token, ORDER_EVENTS, {"id": order["id"]})
    staying = await subscribe(live.address, token, ORDER_EVENTS, {"id": order["id"]})
    bus = bus_of(live)
    try:
        await live.note(staff, order["id"], "both")
        await leaving.wait_for(1)
        await leaving.close()
        await live.note(staff, order["id"], "one")
        events = await staying.wait_for(2)
        assert [e["after"]["text"] for e in events] == ["both", "one"]
        assert bus.subscriber_count == 1
    finally:
        await staying.close()
    await wait_until(lambda: not bus.groups, timeout=5, what="the group to end with its last follower")
    assert bus.subscriber_count == 0
