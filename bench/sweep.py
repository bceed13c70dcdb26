"""Benchmark 3: one jeopardy sweep over 10k, 100k and 1M open orders when 0.1% of them change level.

One PostgreSQL schema per way of sweeping grows through the sizes (the generator adds the
difference, the same orders in each). At each size: a settling sweep looks once at every generated
order (they are new to it: their creation events follow its mark) while a writer in another
connection pool of the same process adds a note to a random order every 100 ms (how long each
waited for its commit is measured; the sweep gives way to its writes as to a request's in the
service, where the monitor and the requests share one database; the same writer first adds 40
notes with no sweep running: its own time, shown beside the waits, and a warm pool, as a running
service's is), then a sweep with nothing to change is timed, then the benchmark's clock moves forward
just far enough that rows of 0.1% of the open orders pass a date that changes their level (an
activity's planned end, a party's report due, a committed date; whatever else time reaches in that
window is found too), and the sweep that finds them and records their new levels is timed. Time
only moves forward, as in service. A sweep whose cost grows with the changes, not with the total,
keeps the last columns flat.

The ways (``--batches``): ``one``, the whole sweep in one transaction (a batch as large as any
backlog: as the sweep was before it worked in batches), and batches of N orders, one after the other
at each size (in the order given); the settle ratio is against the one transaction.

    python -m bench.sweep [--sizes 10000,100000,1000000] [--items 3] [--batches one,250]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from contextlib import AsyncExitStack
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text
from sqlmodel import col

from app.auth import Actor, Role
from app.clock import Clock, FrozenClock, SystemClock
from app.columns import table_of
from app.datagen import Spec, generate, settle_tables
from app.db import Database
from app.forecast.drawing import DrawingPool
from app.jeopardy.rules import OPEN_ACTIVITY
from app.orders.models import CustomerOrder
from app.orders.states import OPEN_ORDER
from app.party_orders.states import ACTIVE
from bench.common import NotReady, percentile, pg_schema, table

WRITER = Actor(name="bench.writer", role=Role.STAFF)
WRITE_EVERY = 0.1
ALONE_WRITES = 40


async def timed_sweep(
    db: Database,
    clock: Clock | None = None,
    batch_orders: int | None = None,
    batch_seconds: float = 0.0,
    pool: DrawingPool | None = None,
) -> tuple[float, int, int, int, int, list[float]]:
    """Seconds, orders examined, level changes, SQL statements, batches of one sweep, and the seconds
    each of its batches held its orders' locks."""
    from app.config import MONITOR_BATCH_ORDERS
    from app.jeopardy.monitor import Monitor
    from app.jeopardy.policy import load_policy

    monitor = Monitor(
        db,
        clock or SystemClock(),
        policy=load_policy(),
        batch_orders=batch_orders or MONITOR_BATCH_ORDERS,
        batch_seconds=batch_seconds,
        pool=pool,
    )
    before = db.statements.count
    started = time.perf_counter()
    result = await monitor.sweep()
    took = time.perf_counter() - started
    outcome = result.outcome
    if outcome is None:
        raise RuntimeError("another monitor holds the lock")
    return (
        took,
        outcome.orders_examined,
        outcome.level_changes,
        db.statements.count - before,
        outcome.batches,
        outcome.locks_held,
    )


async def when_levels_change(db: Database, count: int, now: datetime) -> datetime:
    """Just after ``count`` rows reach a date that changes their level: a planned end, a report due, a committed date."""
    dated = [
        ("activity", "planned_end", sorted(OPEN_ACTIVITY), "jeopardy_level <> 'late'"),
        ("party_order", "next_report_due", sorted(ACTIVE), "jeopardy_level = 'none'"),
        ("customer_order", "committed_date", sorted(OPEN_ORDER), "jeopardy_level <> 'late'"),
    ]
    union = " UNION ALL ".join(
        f"(SELECT {column} AS t FROM {name} WHERE state = ANY(:{name}) AND {column} > :now AND {level} ORDER BY {column} LIMIT :n)"
        for name, column, _, level in dated
    )
    async with db.read() as session:
        when = (
            await session.execute(
                text(f"SELECT t FROM ({union}) d ORDER BY t OFFSET :skip LIMIT 1"),
                {"now": now, "n": count, "skip": count - 1, **{name: states for name, _, states, _ in dated}},
            )
        ).scalar_one()
    return when.astimezone(timezone.utc) + timedelta(seconds=1)


async def timed_note(db: Database, clock: Clock, order_ids: list[int], text_: str) -> float:
    """The seconds a note on a random order took, to its commit."""
    from app.orders.service import add_note

    started = time.perf_counter()
    async with db.write(WRITER, clock.now()) as uow:
        await add_note(uow, random.choice(order_ids), text_)
    return time.perf_counter() - started


async def writes_meanwhile(db: Database, clock: Clock, order_ids: list[int], sweeping: asyncio.Task[object]) -> list[float]:
    """A note on a random order every 100 ms (the next one once the last has committed) until the
    sweep ends: the seconds each waited for its commit."""
    waits: list[float] = []
    while not sweeping.done():
        started = time.perf_counter()
        waits.append(await timed_note(db, clock, order_ids, "a note while the monitor sweeps"))
        await asyncio.wait([sweeping], timeout=max(0.0, started + WRITE_EVERY - time.perf_counter()))
    return waits


async def writes_alone(db: Database, clock: Clock, order_ids: list[int], count: int = ALONE_WRITES) -> list[float]:
    """The same notes with no sweep running, one after the other: the writer's own time (a baseline
    for the waits during the sweep), which also warms its pool as a running service's is."""
    return [await timed_note(db, clock, order_ids, "a note with no sweep running") for _ in range(count)]


async def forecasts_drawn_at(db: Database, when: datetime) -> int:
    """Forecasts drawn at this instant of the benchmark's frozen clock (each sweep's, and the writer's notes meanwhile)."""
    from app.forecast.models import OrderForecast

    async with db.read() as session:
        return (
            await session.execute(select(func.count()).select_from(OrderForecast).where(col(OrderForecast.computed_at) == when))
        ).scalar_one()


async def server_settings(db: Database) -> str:
    """What of the server's configuration the figures depend on: at 1M orders a batch's rows are
    mostly outside a default buffer pool, and without autovacuum the check-time indexes keep the
    entries of every row version a sweep replaced."""
    async with db.read() as session:
        buffers, autovacuum = (
            await session.execute(text("SELECT current_setting('shared_buffers'), current_setting('autovacuum')"))
        ).one()
    return f"shared_buffers {buffers}, autovacuum {autovacuum}"


def batching(word: str) -> tuple[int, float]:
    """A way of sweeping: ``one`` (one transaction), ``N`` (batches of N orders) or ``N@S`` (batches of
    at most N orders, each sized to take about S seconds, as the service sweeps by default)."""
    if word == "one":
        return sys.maxsize, 0.0
    orders, _, seconds = word.partition("@")
    return int(orders), float(seconds or 0)


def way_name(batch: int, seconds: float) -> str:
    if batch == sys.maxsize:
        return "one transaction"
    return f"batches of ≤{batch:,} sized to {seconds:g} s" if seconds else f"batches of {batch:,}"


async def main(args: argparse.Namespace) -> list[str]:
    try:
        import app.jeopardy.monitor  # noqa: F401  only whether this build has the monitor
    except ImportError as exc:
        raise NotReady("the jeopardy monitor is not in this build") from exc
    from app.consistency import reconciler
    from app.jeopardy.policy import load_policy
    from app.main import tune_gc

    tune_gc()  # the monitor sweeps inside the service process, whose collector is tuned at start-up
    sizes = sorted(int(s) for s in str(args.sizes).split(","))
    ways = [w.strip() for w in str(args.batches).split(",")]
    rows = []
    pool = DrawingPool(args.forecast_processes)  # as the service's monitor draws (MONITOR_FORECAST_PROCESSES)
    pool.start()  # as the monitor starts its worker processes
    start = SystemClock().now()
    clocks = [FrozenClock(start) for _ in ways]  # one clock for each way (a way may be given twice): time never goes back
    settled: dict[tuple[int, int], float] = {}  # (size, position of the way)
    async with AsyncExitStack() as stack:
        stack.callback(pool.close)
        schemas = [
            await stack.enter_async_context(pg_schema(f"bench_sweep_{way}", keep=bool(os.environ.get("BENCH_KEEP_SCHEMAS"))))
            for way in ways
        ]
        server = await server_settings(schemas[0][0])
        writers = [Database(db.url, schema=schema, pool_size=4) for db, schema in schemas]
        for writer, (db, _) in zip(writers, schemas, strict=True):
            writer.writes = db.writes  # one process: the sweep gives way to these writes too
            stack.push_async_callback(writer.dispose)
        for db in [*writers, *(db for db, _ in schemas)]:
            db.reconcile = reconciler(load_policy())  # as the service wires it: every write reconciles its orders
        have = 0
        for size in sizes:
            due_at: datetime | None = None
            for n, (way, (db, _), writer) in enumerate(zip(ways, schemas, writers, strict=True)):
                (batch, seconds), clock = batching(way), clocks[n]
                started = time.perf_counter()
                await generate(
                    db, Spec(orders=size - have, items=args.items, chunk=10000, party_share=args.party_share), clock.now()
                )
                await settle_tables(db)  # as `ordertrack generate` does, and autovacuum would soon after any bulk load
                generated = time.perf_counter() - started
                async with db.read() as session:
                    order_ids = list((await session.execute(select(table_of(CustomerOrder).c.id))).scalars())
                alone = await writes_alone(writer, clock, order_ids)
                sweeping = asyncio.create_task(timed_sweep(db, clock, batch, seconds, pool))
                waits = await writes_meanwhile(writer, clock, order_ids, sweeping)
                settle, settle_examined, _, settle_statements, settle_batches, held = sweeping.result()
                settle_drawn = await forecasts_drawn_at(db, clock.now())
                settled[(size, n)] = settle
                await timed_sweep(db, clock, batch, seconds, pool)  # the orders the writer noted meanwhile
                idle, idle_examined, _, idle_statements, *_ = await timed_sweep(db, clock, batch, seconds, pool)
                changed = max(1, size // 1000)
                if due_at is None:  # the same moment for every way: the schemas hold the same orders at the same times
                    due_at = await when_levels_change(db, changed, clock.now())
                clock.set(due_at)
                busy, examined, busy_changes, busy_statements, *_ = await timed_sweep(db, clock, batch, seconds, pool)
                busy_drawn = await forecasts_drawn_at(db, due_at)
                async with db.read() as session:
                    open_orders = (
                        await session.execute(
                            select(func.count()).select_from(CustomerOrder).where(col(CustomerOrder.state).in_(OPEN_ORDER))
                        )
                    ).scalar_one()
                rows.append(
                    [
                        f"{open_orders:,}",
                        way_name(batch, seconds),
                        f"{generated:.0f}",
                        f"{settle:.2f} ({settle_examined:,})",
                        f"{settle_drawn:,}",
                        "",
                        f"{settle_batches:,}: {settle_statements / max(1, settle_batches):.1f}",
                        f"{max(waits) * 1000:.0f}",
                        f"{percentile(waits, 0.99) * 1000:.0f}",
                        f"{statistics.median(waits) * 1000:.0f}",
                        f"{max(alone) * 1000:.0f} ({statistics.median(alone) * 1000:.0f})",
                        f"{max(held) * 1000:.0f} ({statistics.median(held) * 1000:.0f})",
                        len(waits),
                        f"{idle:.3f} ({idle_examined:,})",
                        idle_statements,
                        f"{changed:,}",
                        f"{examined:,}",
                        f"{busy_changes:,}",
                        f"{busy:.3f}",
                        busy_statements,
                        f"{busy_drawn:,}",
                        f"{os.getloadavg()[0]:.1f}",
                    ]
                )
                print(
                    f"  {size:,} orders, {rows[-1][1]}: generated in {generated:.0f} s, settle {settle:.2f} s (writers waited up to {max(waits) * 1000:.0f} ms, p99 {percentile(waits, 0.99) * 1000:.0f} ms, "
                    f"median {statistics.median(waits) * 1000:.0f} ms; alone, before it: up to {max(alone) * 1000:.0f} ms, median {statistics.median(alone) * 1000:.0f} ms), locks held up to {max(held) * 1000:.0f} ms (median {statistics.median(held) * 1000:.0f} ms), {len(waits)} writes, {settle_statements / max(1, settle_batches):.1f} statements a batch; load {os.getloadavg()[0]:.1f}), "
                    f"idle {idle:.3f} s, {changed} due: {busy:.3f} s ({examined} examined, {busy_changes} changes, {busy_statements} statements, "
                    f"{busy_drawn} forecasts drawn; {settle_drawn} drawn while settling)",
                    flush=True,
                )
            base = settled[(size, ways.index("one") if "one" in ways else 0)]  # against the one transaction, wherever it ran
            for n, row in enumerate(rows[-len(ways) :]):
                row[5] = f"{settled[(size, n)] / base:.2f}×"
            have = size
    title = (
        f"Jeopardy sweep (PostgreSQL, {server}): {args.items} items per order, each with an "
        "activity; a note on a random order every 100 ms during the settling sweep; time moves until rows of 0.1% of the open "
        "orders pass a date that changes their level; forecasts drawn by "
        f"{args.forecast_processes or 'no'} worker process{'' if args.forecast_processes == 1 else 'es'}"
    )
    return [
        table(
            title,
            [
                "open orders",
                "sweep",
                "generate s",
                "settling sweep s (orders)",
                "forecasts drawn settling",
                "settle ratio",
                "settling batches: statements per batch",
                "longest writer wait ms",
                "p99 writer wait ms",
                "median writer wait ms",
                "writer alone: longest ms (median)",
                "longest lock held ms (median)",
                "writes",
                "idle sweep s (orders examined)",
                "statements",
                "rows passing a date",
                "orders examined",
                "level changes",
                "sweep s",
                "statements",
                "forecasts drawn",
                "load at the end",
            ],
            rows,
        )
    ]


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}sizes", default="10000,100000,1000000", help="open orders, comma-separated, ascending")
    p.add_argument(f"--{prefix}items", type=int, default=3, help="items (and activities) per order")
    p.add_argument(f"--{prefix}party-share", type=float, default=0.3)
    p.add_argument(
        f"--{prefix}forecast-processes",
        type=int,
        default=1,
        help="worker processes drawing the sweep's forecasts (the service's MONITOR_FORECAST_PROCESSES); 0: in the sweeping process",
    )
    p.add_argument(
        f"--{prefix}batches",
        default="one,250",
        help="ways to sweep, comma-separated: one (one transaction), N (orders per batch) or N@S (at most N orders, "
        "sized to take S seconds: the service sizes by time when MONITOR_BATCH_SECONDS is set)",
    )


def quick(args: argparse.Namespace) -> None:
    args.sizes = "2000,10000"


__all__ = ["NotReady", "add_arguments", "main", "quick"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
