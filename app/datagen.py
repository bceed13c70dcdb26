"""Bulk data generator: a consistent set of open customer orders for demos and load tests.

It writes rows directly (PostgreSQL: binary COPY through asyncpg; SQLite: executemany), not through
the domain functions, so a million orders load in minutes. The rows obey the same rules the domain
functions keep:

- every order is open; its items nest (item 0 is a bundle whose next two items are its children);
- one activity per item, chained: activity k depends on activity k-1 (so the critical path is the
  chain and ``expected_completion`` is the last planned end, as ``orders.schedule`` computes it);
- a party order is needed by its item's planned start, a date given earlier than the committed one,
  and the item's activity (not started yet) waits on it, as an install waits on the equipment;
- one service order request per internally fulfilled item;
- progress is rolled up the way ``app/consistency.py`` does: an item is ``inProgress`` when its own
  work has started, the order is ``inProgress`` when any work has started;
- running work started hours ago and every order keeps ample slack, so a fresh set is in no jeopardy
  (the monitor's first sweep changes nothing).

Events are summarised: one ``orderCreated`` event per order (numbered from the global sequence like
any other) whose ``after`` carries the order snapshot and the counts of what was generated with it
(``items``, ``activities``, ``serviceOrderRequests``), with ``generated: true``. Per-item, activity
and service order events are not written: a generated order's timeline starts with that summary.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import Database
from app.events import Event, EventSequence
from app.orders.models import (
    Activity,
    ActivityDependency,
    ActivityPartyDependency,
    CustomerOrder,
    OrderItem,
    ServiceOrderRequest,
)
from app.party_orders.models import Party, PartyOrder, PartyOrderItem

GENERATOR = "datagen"
CUSTOMERS = [
    (f"C-{n:05d}", name)
    for n, name in enumerate(
        [
            "Acme Ltd",
            "Globex plc",
            "Initech GmbH",
            "Umbrella SA",
            "Hooli Inc",
            "Stark Industries",
            "Wayne Enterprises",
            "Wonka Foods",
            "Tyrell Corp",
            "Cyberdyne Systems",
            "Soylent AG",
            "Vandelay Import",
        ],
        start=100,
    )
]
PRODUCTS = ["FIBRE-1G", "ROUTER-X", "CPE-INSTALL", "SDWAN-EDGE", "LICENCE-3Y", "IP-BLOCK-29", "VOICE-SIP", "NUMBER-PORT"]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "critical"]
KINDS = ["site survey", "install", "configure", "test", "handover"]
GROUPS = ["field-north", "field-south", "noc", "provisioning"]


@dataclass
class Spec:
    """What to generate; sizes are per order."""

    orders: int
    items: int = 5
    chunk: int = 5000
    seed: int = 1
    jobs: int = 2  # chunks written concurrently (PostgreSQL uses a core for each COPY)
    ref_prefix: str = "SR-GEN"
    party_share: float = 0.3  # orders whose last item a party delivers (with a party order)
    parties: int = 10
    party_ids: list[int] = field(default_factory=list)  # filled by generate()


@dataclass
class Chunk:
    """Rows for one batch of orders, by table, plus the ids handed out."""

    orders: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)  # lists while a chunk is built (a bundle's state is set late), then tuples
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    dependencies: list[tuple[Any, ...]] = field(default_factory=list)
    requests: list[tuple[Any, ...]] = field(default_factory=list)
    party_orders: list[tuple[Any, ...]] = field(default_factory=list)
    party_links: list[tuple[Any, ...]] = field(default_factory=list)
    party_waits: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


ORDER_COLS = (
    "id",
    "sales_request_ref",
    "customer_id",
    "customer_name",
    "priority",
    "state",
    "description",
    "requested_at",
    "committed_date",
    "expected_completion",
    "jeopardy_level",
    "escalation_level",
    "contacts",
    "characteristics",
    "version",
    "created_at",
    "updated_at",
)
ITEM_COLS = (
    "id",
    "order_id",
    "parent_id",
    "position",
    "product_ref",
    "action",
    "quantity",
    "fulfillment",
    "party_id",
    "state",
    "characteristics",
    "updated_at",
)
ACTIVITY_COLS = (
    "id",
    "order_id",
    "item_id",
    "kind",
    "state",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "percent_complete",
    "work_group",
    "jeopardy_level",
    "version",
    "updated_at",
)
DEP_COLS = ("activity_id", "predecessor_id")
REQUEST_COLS = ("id", "order_id", "item_id", "state", "external_ref", "created_at", "updated_at")
PARTY_ORDER_COLS = (
    "id",
    "order_id",
    "party_id",
    "state",
    "state_reason",
    "needed_by",
    "needed_by_given",
    "party_ref",
    "committed_delivery",
    "expected_delivery",
    "percent_complete",
    "acknowledged_at",
    "last_report_at",
    "next_report_due",
    "jeopardy_level",
    "escalation_level",
    "version",
    "created_at",
    "updated_at",
)
PARTY_LINK_COLS = ("party_order_id", "item_id", "order_id")
PARTY_WAIT_COLS = ("activity_id", "party_order_id")
EVENT_COLS = ("seq", "at", "type", "entity", "entity_id", "order_id", "actor", "actor_role", "data")

TABLES: list[tuple[str, str, Sequence[str]]] = [
    (CustomerOrder.__tablename__, "orders", ORDER_COLS),
    (OrderItem.__tablename__, "items", ITEM_COLS),
    (Activity.__tablename__, "activities", ACTIVITY_COLS),
    (ActivityDependency.__tablename__, "dependencies", DEP_COLS),
    (ServiceOrderRequest.__tablename__, "requests", REQUEST_COLS),
    (PartyOrder.__tablename__, "party_orders", PARTY_ORDER_COLS),
    (PartyOrderItem.__tablename__, "party_links", PARTY_LINK_COLS),
    (ActivityPartyDependency.__tablename__, "party_waits", PARTY_WAIT_COLS),
    (Event.__tablename__, "events", EVENT_COLS),
]


class Ids:
    """Ids per table, reserved before a chunk is built."""

    def __init__(self, reserved: dict[str, list[int]]) -> None:
        self.left = {table: iter(ids) for table, ids in reserved.items()}

    def take(self, table: str) -> int:
        return next(self.left[table])


def build_chunk(rng: random.Random, spec: Spec, start: int, count: int, ids: Ids, now: datetime) -> Chunk:
    """Rows for orders number ``start`` .. ``start + count - 1`` of the run."""
    c = Chunk()
    day = timedelta(days=1)
    for n in range(start, start + count):
        order_id = ids.take("order")
        customer_id, customer_name = CUSTOMERS[n % len(CUSTOMERS)]
        stage = rng.randrange(3)  # 0: nothing started, 1: first activity running, 2: first done, second running
        step = timedelta(days=rng.randint(1, 4), minutes=rng.randint(0, 240))
        # To the second, as real plans are: thousands of rows sharing one instant would all reach
        # their thresholds at once.
        jitter = timedelta(minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
        # Started work began a few hours ago, so nothing running is past its planned end yet.
        if stage == 0:
            base = now + timedelta(days=rng.randint(0, 5), hours=rng.randint(0, 23)) + jitter
        elif stage == 1:
            base = now - timedelta(hours=rng.randint(1, 20)) - jitter
        else:
            base = now - step - timedelta(hours=rng.randint(1, 20)) - jitter
        item_ids: list[int] = []
        activity_ids: list[int] = []
        started_items: set[int] = set()
        # The last item of some orders is delivered by a party: no service order request, a party order.
        party_item = spec.items - 1 if spec.items > 1 and spec.party_ids and rng.random() < spec.party_share else None
        party_id = spec.party_ids[n % len(spec.party_ids)] if party_item is not None else None
        for k in range(spec.items):
            item_id = ids.take("item")
            parent = item_ids[0] if 1 <= k <= 2 and item_ids else None
            activity_id = ids.take("activity")
            a_start, a_end = base + step * k, base + step * (k + 1)
            a_state = (
                "completed"
                if stage == 2 and k == 0
                else "inProgress"
                if (stage == 1 and k == 0) or (stage == 2 and k == 1)
                else "planned"
            )
            if a_state != "planned":
                started_items.add(item_id)
            c.activities.append(
                (
                    activity_id,
                    order_id,
                    item_id,
                    KINDS[k % len(KINDS)],
                    a_state,
                    a_start,
                    a_end,
                    a_start if a_state != "planned" else None,
                    a_end if a_state == "completed" else None,
                    100 if a_state == "completed" else 50 if a_state == "inProgress" else 0,
                    GROUPS[n % len(GROUPS)],
                    "none",
                    1,
                    now,
                )
            )
            if activity_ids:
                c.dependencies.append((activity_id, activity_ids[-1]))
            activity_ids.append(activity_id)
            if k == party_item:
                # Acknowledged once the order is under way (then the party reports), pending before.
                acked = now - day if stage else None
                po_id = ids.take("party_order")
                c.party_orders.append(
                    (
                        po_id,
                        order_id,
                        party_id,
                        "inProgress" if acked else "pending",
                        None,
                        a_start,
                        True,
                        f"P-{po_id}" if acked else None,
                        a_start if acked else None,
                        a_start if acked else None,
                        20 if acked else 0,
                        acked,
                        acked,
                        now + day if acked else None,
                        "none",
                        0,
                        1,
                        now,
                        now,
                    )
                )
                c.party_links.append((po_id, item_id, order_id))
                if a_state == "planned":  # work under way started before it could wait on anything
                    c.party_waits.append((activity_id, po_id))
                if acked:
                    started_items.add(item_id)
            else:
                r_state = "inProgress" if stage and k == 0 else "acknowledged"
                c.requests.append(
                    (
                        ids.take("request"),
                        order_id,
                        item_id,
                        r_state,
                        f"SO-{order_id}-{k}" if r_state != "acknowledged" else None,
                        now,
                        now,
                    )
                )
            item_ids.append(item_id)
            c.items.append(
                [
                    item_id,
                    order_id,
                    parent,
                    k if parent is None else k - 1,
                    PRODUCTS[(n + k) % len(PRODUCTS)],
                    "add",
                    1 + (k % 3),
                    "party" if k == party_item else "internal",
                    party_id if k == party_item else None,
                    "inProgress" if item_id in started_items else "acknowledged",
                    "{}",
                    now,
                ]
            )
        # A bundle whose child started is in progress too (roll_up settles children first).
        if spec.items > 1 and any(i in started_items for i in item_ids[1:3]):
            c.items[-spec.items][9] = "inProgress"
        requested = min(now, base) - day
        expected = base + step * spec.items
        # Slack of at least a third of the request-to-commitment window: a fresh set is in no jeopardy.
        committed = expected + (expected - requested) / 2 + timedelta(days=rng.randint(1, 10))
        ref = f"{spec.ref_prefix}-{order_id:08d}"
        snapshot = {
            "state": "inProgress" if stage else "acknowledged",
            "priority": PRIORITIES[n % len(PRIORITIES)],
            "committed_date": committed.isoformat(),
            "customer_name": customer_name,
            "description": None,
            "contacts": [{"name": f"{customer_name} buyer", "role": "buyer", "email": None, "phone": None}],
            "characteristics": {"segment": "enterprise"},
            "version": 1,
        }
        c.orders.append(
            (
                order_id,
                ref,
                customer_id,
                customer_name,
                snapshot["priority"],
                snapshot["state"],
                None,
                requested,
                committed,
                expected,
                "none",
                0,
                json.dumps(snapshot["contacts"]),
                json.dumps(snapshot["characteristics"]),
                1,
                now,
                now,
            )
        )
        summary = {
            **snapshot,
            "sales_request_ref": ref,
            "customer_id": customer_id,
            "items": spec.items,
            "activities": spec.items,
            "serviceOrderRequests": spec.items - (party_item is not None),
            "partyOrders": int(party_item is not None),
            "generated": True,
        }
        c.events.append(
            (
                0,
                now,
                "orderCreated",
                "order",
                order_id,
                order_id,
                GENERATOR,
                "system",
                json.dumps({"before": {}, "after": summary}),
            )
        )
    c.items = [tuple(i) for i in c.items]
    return c


async def _pg_reserve(session: AsyncSession, table: str, count: int) -> list[int]:
    """Draw ``count`` ids from the table's sequence, so the API can keep writing meanwhile."""
    seq = (await session.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})).scalar_one()
    rows = await session.execute(text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": seq, "n": count})
    return [int(r[0]) for r in rows]


async def _pg_bulk_mode(session: AsyncSession) -> None:
    """Skip per-row foreign key triggers (the rows are consistent by construction) when allowed."""
    await session.execute(text("SET LOCAL synchronous_commit = off"))
    superuser = (await session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))).scalar()
    if superuser:
        # Like pg_restore --disable-triggers: FK checks are per-row triggers and cost most of a COPY.
        await session.execute(text("SET LOCAL session_replication_role = replica"))


async def _sqlite_reserve(session: AsyncSession, table: str, count: int) -> list[int]:
    # The write session holds SQLite's single write lock (BEGIN IMMEDIATE), so max(id) stays ours.
    last = int((await session.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table}"'))).scalar_one())
    return list(range(last + 1, last + 1 + count))


async def write_chunk(db: Database, spec: Spec, start: int, count: int, now: datetime) -> int:
    """Build and store one chunk in one transaction; returns the rows written."""
    rng = random.Random(spec.seed * 1_000_003 + start)  # the same data whatever the concurrency
    reserve = _sqlite_reserve if db.is_sqlite else _pg_reserve
    async with db.write_session() as session:
        if not db.is_sqlite:
            await _pg_bulk_mode(session)
        tables = {
            "order": CustomerOrder.__tablename__,
            "item": OrderItem.__tablename__,
            "activity": Activity.__tablename__,
            "request": ServiceOrderRequest.__tablename__,
            "party_order": PartyOrder.__tablename__,
        }
        per_order = {"order": 1, "item": spec.items, "activity": spec.items, "request": spec.items, "party_order": 1}
        first = {k: await reserve(session, t, count * per_order[k]) for k, t in tables.items()}
        chunk = build_chunk(rng, spec, start, count, Ids(first), now)
        written = 0
        for table, attr, cols in TABLES[:-1]:
            rows = getattr(chunk, attr)
            if rows:
                await _store(session, db, table, cols, rows)
                written += len(rows)
        # Events are numbered last, under the sequence row lock, like any transaction's events; the
        # lock is held only for the event rows and the commit, so concurrent chunks overlap the rest.
        last = (
            await session.execute(
                text("UPDATE event_sequence SET last = last + :n WHERE id = 1 RETURNING last"), {"n": len(chunk.events)}
            )
        ).scalar_one()
        seq0 = int(last) - len(chunk.events) + 1
        chunk.events = [(seq0 + i, *e[1:]) for i, e in enumerate(chunk.events)]
        await _store(session, db, TABLES[-1][0], TABLES[-1][2], chunk.events)
        written += len(chunk.events)
        await session.commit()
    return written


async def _store(session: AsyncSession, db: Database, table: str, cols: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    if db.is_sqlite:
        model = {
            t.__tablename__: t
            for t in (
                CustomerOrder,
                OrderItem,
                Activity,
                ActivityDependency,
                ServiceOrderRequest,
                PartyOrder,
                PartyOrderItem,
                ActivityPartyDependency,
                Event,
            )
        }[table]
        json_cols = {"contacts", "characteristics", "data"}
        dicts = [{c: (json.loads(v) if c in json_cols and isinstance(v, str) else v) for c, v in zip(cols, row)} for row in rows]
        await session.execute(insert(model), dicts)
        return
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table, records=rows, columns=list(cols))  # type: ignore[union-attr]  # PostgreSQL only here: asyncpg's connection


async def ensure_parties(db: Database, count: int, now: datetime) -> list[int]:
    """The generated partners, created through the domain function (with their events) when missing."""
    from sqlalchemy import select

    from app.auth import Actor, Role
    from app.party_orders.service import NewParty, create_party

    names = [f"Generated partner {i + 1:02d}" for i in range(count)]
    async with db.read() as session:
        found = dict((await session.execute(select(col(Party.name), col(Party.id)).where(col(Party.name).in_(names)))).all())
    for name in names:
        if name not in found:
            async with db.write(Actor(name=GENERATOR, role=Role.STAFF), now) as uow:
                found[name] = (await create_party(uow, NewParty(name=name, kind="partner", reporting_interval_hours=24))).id
    return [pid for name in names if (pid := found[name]) is not None]  # stored: every id is set


def chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


async def generate(db: Database, spec: Spec, now: datetime, progress: Callable[[int], None] | None = None) -> int:
    """Write ``spec.orders`` orders with their trees; ``progress(n)`` after each chunk of n orders."""
    async with db.write_session() as session:
        if await session.get(EventSequence, 1) is None:
            session.add(EventSequence(id=1, last=0))
            await session.commit()
    spec.party_ids = await ensure_parties(db, spec.parties, now) if spec.party_share > 0 else []
    jobs = 1 if db.is_sqlite else max(1, spec.jobs)  # SQLite has one writer anyway
    work = iter(chunks(spec.orders, spec.chunk))
    total = 0

    async def worker() -> None:
        nonlocal total
        for start, count in work:  # the shared iterator hands each chunk to one worker
            total += await write_chunk(db, spec, start, count, now)
            if progress:
                progress(count)

    await asyncio.gather(*(worker() for _ in range(jobs)))
    return total


async def settle_tables(db: Database) -> None:
    """After a bulk load: VACUUM (ANALYZE) the loaded tables on PostgreSQL, as autovacuum would soon,
    so planner statistics, hint bits and the visibility map are in place before the first
    queries (otherwise the first statement to touch each page pays for setting its hint bits and
    writing it back); ANALYZE on SQLite."""
    if db.is_sqlite:
        async with db.write_session() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
        return
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
        await conn.execute(text("VACUUM (ANALYZE) " + ", ".join(f'"{name}"' for name, _, _ in TABLES)))


async def run_generate(db: Database, args: Any) -> None:
    """The ``ordertrack generate`` command: generate with a progress bar, then print a summary."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from app.clock import SystemClock

    if args.items < 1 or args.orders < 0 or args.chunk < 1 or args.history < 0 or args.orders + args.history < 1:
        raise SystemExit("--orders or --history must be at least 1, --items and --chunk at least 1")
    spec = Spec(orders=args.orders, items=args.items, chunk=args.chunk, seed=args.seed, jobs=args.jobs)
    started = time.perf_counter()
    try:
        if args.history:
            await _generate_history(db, args, SystemClock().now())
        if not spec.orders:
            return
        with Progress(TextColumn("orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()) as bar:
            task = bar.add_task("orders", total=spec.orders)
            rows = await generate(db, spec, SystemClock().now(), lambda n: bar.advance(task, n))
        print("vacuum (analyze) of the loaded tables ...", flush=True)
        await settle_tables(db)
    finally:
        await db.dispose()
    took = time.perf_counter() - started
    print(f"{spec.orders} orders, {rows} rows in {took:.1f} s ({spec.orders / took:,.0f} orders/s)")


async def _generate_history(db: Database, args: Any, now: datetime) -> None:
    """``--history N``: closed orders with the chosen slip rates, written before the open ones."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.history import HistorySpec, generate_history, parse_rates

    spec = HistorySpec(orders=args.history, seed=args.seed)
    if args.party_slip:
        spec.party_slip = parse_rates(args.party_slip, "--party-slip")
    if args.kind_slip:
        spec.kind_slip = parse_rates(args.kind_slip, "--kind-slip")
    started = time.perf_counter()
    with Progress(TextColumn("closed orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("history", total=spec.orders)
        await generate_history(db, spec, now, lambda n: bar.advance(task, n), jobs=args.jobs)
    took = time.perf_counter() - started
    print(
        f"{spec.orders} closed orders in {took:.1f} s; late deliveries {dict(spec.party_slip)}, overruns {dict(spec.kind_slip)}"
    )
