"""Many dashboards on one stream share the per-event work: one filter run, one execution, one encoding."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.auth import Role
from app.clock import FrozenClock
from app.db import Database
from app.events import Event
from app.main import create_app
from app.orders import queries
from app.realtime.fanout import Member, Renderer
from app.realtime.ws_protocol import WebSocketProtocol
from tests.factories import create_order
from tests.launcher import serve_app
from tests.live import LEGACY_WS, TRANSPORT_WS, Subscriber, subscribe, wait_until
from tests.test_live_subscriptions import (  # noqa: F401  the fixture
    MATCHING,
    ORDER_EVENTS,
    Live,
    live,
    live_settings,
)


@pytest.fixture
async def deflating_live(db: Database, clock: FrozenClock) -> AsyncIterator[Live]:
    """The live server with WS_PER_MESSAGE_DEFLATE on (clients may then ask for compressed frames)."""
    app = create_app(live_settings(ws_per_message_deflate=True), db=db, clock=clock)
    async with serve_app(app) as address, httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        yield Live(address, app, db, clock, http)


def bus_of(live: Live) -> Any:
    return live.app.state.ordertrack.services.bus


async def test_dashboards_on_one_stream_get_every_event_from_one_execution(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "wall")
    resolved: list[int] = []
    cursor = queries.event_cursor

    def noted_cursor(seq: int) -> str:
        resolved.append(seq)
        return cursor(seq)

    monkeypatch.setattr(queries, "event_cursor", noted_cursor)
    walls: list[Subscriber] = []
    try:
        for n in range(6):
            walls.append(
                await subscribe(live.address, token, MATCHING, {"filter": {}}, protocol=(TRANSPORT_WS, LEGACY_WS)[n % 2])
            )
        bus = bus_of(live)
        await wait_until(lambda: bus.subscriber_count == 6, timeout=5, what="the six to be registered")
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


async def _parked(member: Member) -> asyncio.Task[tuple[int, Any]]:
    """A task waiting in ``member.get()`` (a subscriber with nothing to do)."""
    task = asyncio.ensure_future(member.get())
    await asyncio.sleep(0)
    return task


async def never_rendered(event: Event) -> None:
    """The renderer of members offered renderings already: these tests render nothing."""


async def test_a_member_waiting_with_nothing_buffered_takes_events_direct_and_skips_what_it_replayed() -> None:
    taken: list[tuple[int, Any]] = []

    def direct(seq: int, item: Any) -> bool:
        taken.append((seq, item))
        return True

    member = Member(Renderer("r", never_rendered), size=10, direct=direct)
    assert member.offer(1, "replaying") and taken == [], "nothing goes direct before the replay says where it ended"
    assert await member.get() == (1, "replaying")

    member.after = 5  # the replay read the log up to 5
    waiting = await _parked(member)
    assert member.offer(5, "replayed already") and member.offer(6, "live")
    assert taken == [(6, "live")], "5 came from the log, 6 went straight out"
    assert not waiting.done(), "the member's own task was not woken"
    waiting.cancel()


async def test_an_event_the_socket_cannot_take_at_once_waits_in_the_buffer_and_later_ones_queue_behind_it() -> None:
    full = True
    taken: list[int] = []

    def direct(seq: int, item: Any) -> bool:
        if full:
            return False
        taken.append(seq)
        return True

    member = Member(Renderer("r", never_rendered), size=10, direct=direct)
    member.after = 0
    waiting = await _parked(member)
    assert member.offer(1, "a")  # refused direct: buffered, the member's task woken
    full = False
    assert member.offer(2, "b"), "accepted"
    assert taken == [], "2 does not overtake 1 while 1 is still buffered"
    assert await waiting == (1, "a") and await member.get() == (2, "b")
    waiting = await _parked(member)
    assert member.offer(3, "c") and taken == [3], "caught up: direct again"
    waiting.cancel()


async def test_a_dashboard_waiting_for_events_has_them_written_by_its_group_not_by_its_own_task(
    deflating_live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = deflating_live
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "wall")
    written_now: list[bytes] = []
    compressed: set[bool] = set()
    send_now = WebSocketProtocol.send_now

    def counting(self: WebSocketProtocol, text: bytes) -> bool:
        sent = send_now(self, text)
        if sent:
            written_now.append(text)
            compressed.add(bool(self.conn.extensions))
        return sent

    monkeypatch.setattr(WebSocketProtocol, "send_now", counting)
    # Both protocols, with and without permessage-deflate (a compressed frame is per connection).
    walls = [
        await subscribe(
            live.address,
            token,
            MATCHING,
            {"filter": {}},
            protocol=(TRANSPORT_WS, LEGACY_WS)[n % 2],
            connect_args={} if n < 2 else {"compression": None},
        )
        for n in range(4)
    ]
    try:
        for n in range(3):
            await live.note(staff, order["id"], f"note {n}")
        for wall in walls:
            assert [e["after"]["text"] for e in await wall.wait_for(3)] == ["note 0", "note 1", "note 2"]
        assert len(written_now) == 12, "every delivery went out from the group's task"
        assert compressed == {True, False}, "deflated and plain frames both went out this way"
        assert all(b'"type":"next"' in t or b'"type":"data"' in t for t in written_now)
    finally:
        for wall in walls:
            await wall.close()


async def test_a_dashboard_whose_socket_is_often_full_still_gets_every_event_once_and_in_order(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = await live.api()
    order = await create_order(staff, live.clock.now())
    token = await live.token(Role.VIEWER, "slow wall")
    calls = [0]
    send_now = WebSocketProtocol.send_now

    def every_other_time_full(self: WebSocketProtocol, text: bytes) -> bool:
        calls[0] += 1
        return calls[0] % 2 == 0 and send_now(self, text)

    monkeypatch.setattr(WebSocketProtocol, "send_now", every_other_time_full)
    walls = [await subscribe(live.address, token, MATCHING, {"filter": {}}) for _ in range(3)]
    try:
        for n in range(9):
            await live.note(staff, order["id"], f"note {n}")
        for wall in walls:  # no event twice: the ninth comes right after the eighth
            events = await wall.wait_for(9)
            assert [e["after"]["text"] for e in events] == [f"note {n}" for n in range(9)]
        assert calls[0] > 0
    finally:
        for wall in walls:
            await wall.close()
