"""Every change is one transaction that appends to one global, gap-free, commit-ordered event log."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from app.auth import Actor, Role
from app.clock import FrozenClock
from app.db import Database
from app.errors import InvalidInput
from app.events import Event, read_after
from app.orders import service
from tests.factories import order_input

STAFF = Actor(name="tester", role=Role.STAFF)


def new_order(clock: FrozenClock, ref: str) -> service.NewOrder:
    raw = order_input(clock.now())
    return service.NewOrder(
        sales_request_ref=ref,
        customer_id="C",
        customer_name="C",
        committed_date=clock.now().replace(year=2028),
        items=[service.NewItem(product_ref=i["productRef"]) for i in raw["items"]],
    )


async def test_concurrent_writers_get_a_gap_free_sequence_in_commit_order(db: Database, clock: FrozenClock) -> None:
    published: list[int] = []

    async def remember(events: Sequence[Event]) -> None:
        published.extend(e.seq for e in events)

    db.publishers.append(remember)

    async def create(n: int) -> None:
        async with db.write(STAFF, clock.now()) as uow:
            await service.create_order(uow, new_order(clock, f"SR-C{n}"))

    await asyncio.gather(*(create(n) for n in range(20)))
    async with db.read() as session:
        events = await read_after(session, 0)
    assert [e.seq for e in events] == list(range(1, 21))
    assert sorted(published) == list(range(1, 21))
    assert all(e.type == "orderCreated" and e.actor == "tester" for e in events)


async def test_a_refused_change_appends_no_event_and_publishes_nothing(db: Database, clock: FrozenClock) -> None:
    published: list[Event] = []

    async def remember(events: Sequence[Event]) -> None:
        published.extend(events)

    db.publishers.append(remember)
    async with db.write(STAFF, clock.now()) as uow:
        order = await service.create_order(uow, new_order(clock, "SR-OK"))
    try:
        async with db.write(STAFF, clock.now()) as uow:
            await service.add_note(uow, order.id or 0, "half done")
            raise InvalidInput("refused after a partial change")
    except InvalidInput:
        pass
    async with db.read() as session:
        types = [e.type for e in (await session.execute(select(Event).order_by(col(Event.seq)))).scalars()]
    assert types == ["orderCreated"]
    assert [e.type for e in published] == ["orderCreated"]


async def test_a_failing_publisher_loses_no_write(db: Database, clock: FrozenClock) -> None:
    async def broken(events: Sequence[Event]) -> None:
        raise ConnectionError("broker down")

    db.publishers.append(broken)
    async with db.write(STAFF, clock.now()) as uow:
        await service.create_order(uow, new_order(clock, "SR-PUB"))
    async with db.read() as session:
        assert [e.type for e in await read_after(session, 0)] == ["orderCreated"]


async def test_an_events_words_are_stored_and_published_exactly_whatever_they_hold(db: Database, clock: FrozenClock) -> None:
    # On PostgreSQL the events travel inside the statement text (events.commit_numbered): quotes,
    # backslashes, the dollar-quote tag and any Unicode must come back as they went in.
    notes = ["it's", "back\\slash", "$ev$ and $$", "$ev$'); DROP TABLE event; --", "ünïcødé 漢字 🙂", "two\nlines"]
    published: list[Event] = []

    async def remember(events: Sequence[Event]) -> None:
        published.extend(events)

    db.publishers.append(remember)
    async with db.write(STAFF, clock.now()) as uow:
        order = await service.create_order(uow, new_order(clock, "SR-WORDS"))
    for note in notes:
        async with db.write(STAFF, clock.now()) as uow:
            await service.add_note(uow, order.id or 0, note)
    async with db.read() as session:
        stored = await read_after(session, 0)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1)) == [e.seq for e in published]
    assert [(e.type, e.data, e.at, e.order_id) for e in stored] == [(e.type, e.data, e.at, e.order_id) for e in published]
    assert [e.data["after"]["text"] for e in stored if e.type == "noteAdded"] == notes
