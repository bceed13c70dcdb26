"""The event bus on its own: delivery by sequence whatever order batches arrive in, bounded buffers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.auth import SYSTEM
from app.clock import FrozenClock
from app.db import Database
from app.events import Event
from app.realtime.bus import EventBus, LocalSubscriber, SlowConsumer


@pytest.fixture
async def bus(db: Database) -> AsyncIterator[EventBus]:
    bus = EventBus(db, "memory://", buffer_size=10, poll_interval=60)
    await bus.start()
    yield bus
    await bus.stop()


async def write(db: Database, clock: FrozenClock, count: int) -> list[Event]:
    """Events committed without anyone publishing them (as by a process that cannot reach the broker)."""
    events = []
    for n in range(count):
        async with db.write(SYSTEM, clock.now()) as uow:
            uow.record("noteAdded", entity="note", entity_id=n + 1, order_id=1, after={"text": f"n{n}"})
        events.extend(uow.events)
    return events


async def take(sub: LocalSubscriber, count: int) -> list[int]:
    return [(await asyncio.wait_for(sub.get(), timeout=5)).seq for _ in range(count)]


async def test_batches_arriving_out_of_order_or_twice_are_delivered_once_in_sequence(
    db: Database, clock: FrozenClock, bus: EventBus
) -> None:
    start = bus.last_seq
    events = await write(db, clock, 5)
    async with bus.subscribe() as sub:
        for batch in ([events[2]], [events[0]], [events[2], events[3]], [events[1]], [events[4]], [events[4]]):
            await bus.publish(batch)  # the jump to the 3rd reads the 1st and 2nd from the log first
        assert await take(sub, 3) == [start + 1, start + 2, start + 3]
        assert await take(sub, 2) == [start + 4, start + 5]
        await bus.publish(await write(db, clock, 1))
        assert await take(sub, 1) == [start + 6]  # nothing twice: the next one comes right after the fifth
        assert sub._queue.empty()
    assert bus.last_seq == start + 6


async def test_an_unpublished_event_arrives_with_the_next_log_read(db: Database, clock: FrozenClock, bus: EventBus) -> None:
    async with bus.subscribe(lambda e: e.type == "noteAdded") as sub:
        events = await write(db, clock, 2)
        bus._inbox.put_nowait(None)  # what the poll timer does every bus_poll_interval_seconds
        assert await take(sub, 2) == [e.seq for e in events]


async def test_a_subscriber_that_overflows_its_buffer_is_cut_off_and_the_others_go_on(
    db: Database, clock: FrozenClock, bus: EventBus
) -> None:
    bus.buffer_size = 3
    async with bus.subscribe() as fast, bus.subscribe() as slow:
        seen = []
        for event in await write(db, clock, 5):
            await bus.publish([event])
            seen += await take(fast, 1)
        assert len(seen) == 5
        with pytest.raises(SlowConsumer) as refused:
            await slow.get()
        assert refused.value.extensions["code"] == "SLOW_CONSUMER"
        assert bus.subscriber_count == 1
        await bus.publish(await write(db, clock, 1))
        assert len(await take(fast, 1)) == 1
