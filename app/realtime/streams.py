"""What each live stream selects from the event log, as SQL (replay) and as a test on one event (live).

Both forms of a stream must agree: a replayed event and a live one are chosen by the same rule.
Knows nothing of GraphQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import col

from app.db import Database
from app.event_visibility import Viewer, visible_event
from app.events import Event, last_sequence
from app.observability.metrics import EVENTS_REPLAYED
from app.orders.models import CustomerOrder, OrderItem
from app.realtime import fanout
from app.realtime.bus import EventBus
from app.realtime.fanout import Direct, Renderer

PAGE = 200
# Event types the jeopardy monitor emits, matched by prefix: jeopardyChanged, escalated, escalationLowered.
ALERT_PREFIXES = ("jeopardy", "escalat")

Check = Callable[[EventBus, Database, Event], Awaitable[bool]]


async def _always(bus: EventBus, db: Database, event: Event) -> bool:
    return True


@dataclass
class Stream:
    """A selection of events: ``where`` narrows the log in SQL, ``accepts`` tests a live event the
    same way, and ``check`` (optional) looks at the order's current row for dashboard filters.
    Streams with the same ``key`` select the same events (None: a stream that is never shared)."""

    where: list[Any] = field(default_factory=list)
    tests: list[Callable[[Event], bool]] = field(default_factory=list)
    check: Check = _always
    key: Hashable | None = None

    def accepts(self, event: Event) -> bool:
        return all(test(event) for test in self.tests)


def is_alert(event_type: str) -> bool:
    lowered = event_type.lower()
    return lowered.startswith(ALERT_PREFIXES)


def order_stream(order_id: int) -> Stream:
    """Everything recorded against one customer order: items, activities, party orders, escalations."""
    return Stream(where=[Event.order_id == order_id], tests=[lambda e: e.order_id == order_id], key=("order", order_id))


def alert_stream(order_id: int | None = None) -> Stream:
    """Jeopardy and escalation events (by type prefix), optionally of one order."""
    lowered = func.lower(Event.type)
    stream = Stream(
        where=[or_(*(lowered.like(f"{p}%") for p in ALERT_PREFIXES))],
        tests=[lambda e: is_alert(e.type)],
        key=("alerts", order_id),
    )
    if order_id is not None:
        stream.where.append(Event.order_id == order_id)
        stream.tests.append(lambda e: e.order_id == order_id)
    return stream


def party_order_stream(party_id: int | None, party_order_id: int | None = None) -> Stream:
    """Events of party orders: of one party (a partner sees only its own), or of one party order."""
    stream = Stream(
        where=[col(Event.party_order_id).is_not(None)],
        tests=[lambda e: e.party_order_id is not None],
        key=("party", party_id, party_order_id),
    )
    if party_id is not None:
        stream.where.append(Event.party_id == party_id)
        stream.tests.append(lambda e: e.party_id == party_id)
    if party_order_id is not None:
        stream.where.append(Event.party_order_id == party_order_id)
        stream.tests.append(lambda e: e.party_order_id == party_order_id)
    return stream


@dataclass
class DashboardFilter:
    """Orders by state, jeopardy level, customer and party (empty = any)."""

    states: list[str] = field(default_factory=list)
    jeopardy_levels: list[str] = field(default_factory=list)
    customer_id: str | None = None
    party_id: int | None = None


@dataclass
class OrderFacts:
    state: str
    jeopardy_level: str
    customer_id: str
    party_ids: set[int]


async def load_facts(db: Database, order_id: int) -> OrderFacts | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(col(CustomerOrder.state), col(CustomerOrder.jeopardy_level), col(CustomerOrder.customer_id)).where(
                    col(CustomerOrder.id) == order_id
                )
            )
        ).first()
        if row is None:
            return None
        parties = (
            await session.execute(
                select(col(OrderItem.party_id))
                .where(col(OrderItem.order_id) == order_id, col(OrderItem.party_id).is_not(None))
                .distinct()
            )
        ).scalars()
        return OrderFacts(
            state=row[0], jeopardy_level=row[1], customer_id=row[2], party_ids={int(p) for p in parties if p is not None}
        )


def _changed_from(event: Event, *names: str) -> Any:
    before = (event.data or {}).get("before") or {}
    for name in names:
        if name in before:
            return before[name]
    return None


def dashboard_stream(f: DashboardFilter) -> Stream:
    """Events of the orders matching ``f``, judged on the order's current values and on the values
    the event changed from, so a dashboard also sees the event that takes an order out of its view."""

    async def check(bus: EventBus, db: Database, event: Event) -> bool:
        assert event.order_id is not None
        facts = await bus.memo(("order-facts", event.order_id, event.seq), lambda: load_facts(db, event.order_id))  # type: ignore[arg-type]  # asserted above; mypy does not carry it into the lambda
        if facts is None:
            return False
        if f.states and facts.state not in f.states and _changed_from(event, "state") not in f.states:
            return False
        if (
            f.jeopardy_levels
            and facts.jeopardy_level not in f.jeopardy_levels
            and _changed_from(event, "jeopardy_level", "jeopardyLevel", "level") not in f.jeopardy_levels
        ):
            return False
        if f.customer_id and facts.customer_id != f.customer_id:
            return False
        return f.party_id is None or event.party_id == f.party_id or f.party_id in facts.party_ids

    key = ("dashboard", tuple(sorted(set(f.states))), tuple(sorted(set(f.jeopardy_levels))), f.customer_id, f.party_id)
    return Stream(where=[col(Event.order_id).is_not(None)], tests=[lambda e: e.order_id is not None], check=check, key=key)


async def replay(db: Database, stream: Stream, after: int) -> AsyncIterator[Event]:
    """The stream's events after ``after`` from the log, oldest first, a page per short session."""
    last = after
    while True:
        async with db.read() as session:
            query = select(Event).where(col(Event.seq) > last, *stream.where).order_by(col(Event.seq)).limit(PAGE)
            rows = list((await session.execute(query)).scalars())
        for event in rows:
            last = event.seq
            EVENTS_REPLAYED.inc()
            yield event
        if len(rows) < PAGE:
            return


async def follow(
    bus: EventBus,
    db: Database,
    stream: Stream,
    after: int | None,
    renderer: Renderer | None = None,
    direct: Direct | None = None,
    *,
    viewer: Viewer,
) -> AsyncIterator[Any]:
    """Replay after the cursor (or from the log's head: "now"), then continue live. No gap: the bus
    subscription starts before the log is read. No duplicate: live events already replayed are skipped.
    Every event passes ``viewer``'s filter (app/event_visibility.py): what it may not see is skipped.

    With a ``renderer`` (and a stream with a key) the live part comes from the stream's fan-out group:
    each live item is the group's rendering of the event (the renderer renders what ``viewer`` may
    see, and nothing when that is nothing), or the event itself when there is none (filtered here);
    otherwise this follower has a bus subscription of its own. Once the replay is done, live items
    may bypass this generator through ``direct`` (see fanout)."""
    shared = renderer is not None and stream.key is not None
    last = after

    async def check(event: Event) -> bool:
        return await stream.check(bus, db, event)

    while True:
        joined: AbstractAsyncContextManager[Any]
        if renderer is not None and stream.key is not None:  # shared
            joined = fanout.join(bus, stream.key, stream.accepts, check, renderer, direct)
        else:
            joined = bus.subscribe(stream.accepts)
        async with joined as live:
            if last is None:
                async with db.read() as session:
                    last = await last_sequence(session)
            async for event in replay(db, stream, last):
                last = event.seq
                shown = visible_event(event, viewer)
                if shown is not None and await check(event):
                    yield shown
            if live.overflowed:
                continue  # fell behind while replaying: read on from the log with a fresh buffer
            if isinstance(live, fanout.Member):  # shared: the group's member
                live.after = last
            # Either raises SlowConsumer when this follower overflows its buffer.
            items = _group_items(live) if isinstance(live, fanout.Member) else ((event.seq, event) async for event in live)
            async for seq, item in items:
                if seq <= last:
                    continue
                last = seq
                if not isinstance(item, Event):
                    yield item  # the group's rendering of this viewer's view of the event
                    continue
                shown = visible_event(item, viewer)
                if shown is not None and (shared or await check(item)):
                    yield shown


async def _group_items(member: Any) -> AsyncIterator[tuple[int, Any]]:
    """A fan-out member's items with their sequence numbers, as they come."""
    while True:
        yield await member.get()
