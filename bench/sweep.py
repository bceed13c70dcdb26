"""Benchmark 3: one jeopardy sweep over 10k, 100k and 1M open orders when 0.1% of them change level.

One PostgreSQL schema grows through the sizes (the generator adds the difference). At each size:
a settling sweep brings every stored level up to date, then a sweep with nothing to change is
timed, then 0.1% of the open orders get a committed date in the past (set directly in SQL: this
is the benchmark's doing, not an API change) and the sweep that finds and records them is timed.
A sweep whose cost grows with the changes, not with the total, keeps the last column flat.

    python -m bench.sweep [--sizes 10000,100000,1000000] [--items 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

from sqlalchemy import func, select, text

from app.clock import SystemClock
from app.datagen import Spec, generate
from app.db import Database
from app.orders.models import CustomerOrder
from app.orders.states import OPEN_ORDER
from bench.common import NotReady, pg_schema, table


async def timed_sweep(db: Database) -> tuple[float, int, int]:
    """Seconds, level changes and SQL statements of one sweep."""
    from app.jeopardy.monitor import Monitor

    monitor = Monitor(db, SystemClock())
    before = db.statements.count
    started = time.perf_counter()
    result = await monitor.sweep()
    took = time.perf_counter() - started
    outcome = result.outcome
    changes = (outcome.level_changes + outcome.escalations + outcome.deescalations) if outcome else -1
    return took, changes, db.statements.count - before


async def main(args: argparse.Namespace) -> list[str]:
    try:
        import app.jeopardy.monitor  # noqa: F401
    except ImportError as exc:
        raise NotReady("the jeopardy monitor is not in this build") from exc
    sizes = sorted(int(s) for s in str(args.sizes).split(","))
    rows = []
    async with pg_schema("bench_sweep") as (db, _):
        have = 0
        for size in sizes:
            started = time.perf_counter()
            await generate(db, Spec(orders=size - have, items=args.items, chunk=10000, party_share=args.party_share), SystemClock().now())
            generated = time.perf_counter() - started
            have = size
            async with db.write_session() as session:
                await session.execute(text("ANALYZE"))
                await session.commit()
            settle, settled, _ = await timed_sweep(db)
            idle, idle_changes, idle_statements = await timed_sweep(db)
            changed = max(1, size // 1000)
            async with db.write_session() as session:
                # Committed dates in the past: the sweep must mark exactly these orders late.
                await session.execute(
                    text("UPDATE customer_order SET committed_date = :past WHERE id IN "
                         "(SELECT id FROM customer_order WHERE state = ANY(:open) AND jeopardy_level <> 'late' ORDER BY random() LIMIT :n)"),
                    {"past": SystemClock().now() - timedelta(hours=1), "open": list(OPEN_ORDER), "n": changed},
                )
                await session.commit()
            busy, busy_changes, busy_statements = await timed_sweep(db)
            async with db.read() as session:
                open_orders = (await session.execute(select(func.count()).select_from(CustomerOrder).where(CustomerOrder.state.in_(OPEN_ORDER)))).scalar_one()
            rows.append([f"{open_orders:,}", f"{generated:.0f}", f"{settle:.2f} ({settled:,})", f"{idle:.2f}", idle_statements,
                         f"{changed:,}", f"{busy_changes:,}", f"{busy:.2f}", busy_statements])
            print(f"  {size:,} orders: settle {settle:.2f} s, idle {idle:.2f} s, {changed} changed {busy:.2f} s", flush=True)
    title = f"Jeopardy sweep (one transaction, PostgreSQL): {args.items} items per order, each with an activity"
    return [table(title, ["open orders", "generate s", "settling sweep s (changes)", "idle sweep s", "statements",
                          "orders changed", "level changes found", "sweep s", "statements"], rows)]


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
