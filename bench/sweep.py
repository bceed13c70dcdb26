"""Benchmark 3: one jeopardy sweep over 10k, 100k and 1M open orders when 0.1% of them change level.

One PostgreSQL schema grows through the sizes (the generator adds the difference). At each size:
a settling sweep looks once at every generated order (they are new to it: their creation events
follow its mark), then a sweep with nothing to change is timed, then the benchmark's clock moves
forward just far enough that rows of 0.1% of the open orders pass a date that changes their level
(an activity's planned end, a party's report due, a committed date; whatever else time reaches in
that window is found too), and the sweep that finds them and records their new levels is timed.
Time only moves forward, as in service. A sweep whose cost grows with the changes, not with the
total, keeps the last columns flat.

    python -m bench.sweep [--sizes 10000,100000,1000000] [--items 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text

from app.clock import Clock, FrozenClock, SystemClock
from app.datagen import Spec, generate, settle_tables
from app.db import Database
from app.jeopardy.rules import OPEN_ACTIVITY
from app.orders.models import CustomerOrder
from app.orders.states import OPEN_ORDER
from app.party_orders.states import ACTIVE
from bench.common import NotReady, pg_schema, table


async def timed_sweep(db: Database, clock: Clock | None = None) -> tuple[float, int, int, int]:
    """Seconds, orders examined, level changes and SQL statements of one sweep."""
    from app.jeopardy.monitor import Monitor

    monitor = Monitor(db, clock or SystemClock())
    before = db.statements.count
    started = time.perf_counter()
    result = await monitor.sweep()
    took = time.perf_counter() - started
    outcome = result.outcome
    if outcome is None:
        raise RuntimeError("another monitor holds the lock")
    return took, outcome.orders_examined, outcome.level_changes, db.statements.count - before


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
        when = (await session.execute(
            text(f"SELECT t FROM ({union}) d ORDER BY t OFFSET :skip LIMIT 1"),
            {"now": now, "n": count, "skip": count - 1, **{name: states for name, _, states, _ in dated}},
        )).scalar_one()
    return when.astimezone(timezone.utc) + timedelta(seconds=1)


async def main(args: argparse.Namespace) -> list[str]:
    try:
        import app.jeopardy.monitor  # noqa: F401  only whether this build has the monitor
    except ImportError as exc:
        raise NotReady("the jeopardy monitor is not in this build") from exc
    from app.main import tune_gc

    tune_gc()  # the monitor sweeps inside the service process, whose collector is tuned at start-up
    sizes = sorted(int(s) for s in str(args.sizes).split(","))
    rows = []
    clock = FrozenClock(SystemClock().now())  # one clock for the whole run: time never goes back
    async with pg_schema("bench_sweep") as (db, _):
        have = 0
        for size in sizes:
            started = time.perf_counter()
            await generate(db, Spec(orders=size - have, items=args.items, chunk=10000, party_share=args.party_share), clock.now())
            await settle_tables(db)  # as `ordertrack generate` does, and autovacuum would soon after any bulk load
            generated = time.perf_counter() - started
            have = size
            settle, settle_examined, _, _ = await timed_sweep(db, clock)
            idle, idle_examined, _, idle_statements = await timed_sweep(db, clock)
            changed = max(1, size // 1000)
            clock.set(await when_levels_change(db, changed, clock.now()))
            busy, examined, busy_changes, busy_statements = await timed_sweep(db, clock)
            async with db.read() as session:
                open_orders = (await session.execute(select(func.count()).select_from(CustomerOrder).where(CustomerOrder.state.in_(OPEN_ORDER)))).scalar_one()
            rows.append([f"{open_orders:,}", f"{generated:.0f}", f"{settle:.2f} ({settle_examined:,})", f"{idle:.3f} ({idle_examined:,})",
                         idle_statements, f"{changed:,}", f"{examined:,}", f"{busy_changes:,}", f"{busy:.3f}", busy_statements])
            print(f"  {size:,} orders: settle {settle:.2f} s, idle {idle:.3f} s, {changed} due: {busy:.3f} s", flush=True)
    title = (f"Jeopardy sweep (one transaction, PostgreSQL): {args.items} items per order, each with an activity; "
             "time moves until rows of 0.1% of the open orders pass a date that changes their level")
    return [table(title, ["open orders", "generate s", "settling sweep s (orders)", "idle sweep s (orders examined)", "statements",
                          "rows passing a date", "orders examined", "level changes", "sweep s", "statements"], rows)]


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}sizes", default="10000,100000,1000000", help="open orders, comma-separated, ascending")
    p.add_argument(f"--{prefix}items", type=int, default=3, help="items (and activities) per order")
    p.add_argument(f"--{prefix}party-share", type=float, default=0.3)


def quick(args: argparse.Namespace) -> None:
    args.sizes = "2000,10000"


__all__ = ["NotReady", "add_arguments", "main", "quick"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
