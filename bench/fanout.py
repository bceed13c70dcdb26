"""Benchmark 2: live fan-out to 1,000, 5,000 and 10,000 websocket subscribers on one server process.

The service runs as one uvicorn process (one core). Subscribers are dashboards on
``orderEventsMatching`` (graphql-transport-ws), spread over client processes
(``bench.fanout_client``). A writer adds notes to orders through the API at a fixed rate; every
note is one committed event pushed to every subscriber. Latency runs from the event's ``at`` (the
clock when the mutation's transaction began, so it overstates by the mutation's own work, about
10 ms here) to the data's arrival on the subscriber's socket (the kernel's receive timestamp), and,
alongside, to the client process reading it.

    python -m bench.fanout [--subscribers 1000,5000,10000] [--rate 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
import orjson

from app.auth import Role, create_token
from app.clock import SystemClock
from app.columns import table_of
from app.datagen import Spec, generate
from app.orders.models import CustomerOrder
from bench.common import ROOT, NotReady, app_env, percentile, pg_schema, table, uvicorn

SUBSCRIPTION = "subscription { orderEventsMatching { sequence type at orderId entityId actor } }"
NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"


async def one_size(
    db_env: dict[str, str], viewer: str, staff: str, order_ids: list[int], count: int, args: argparse.Namespace
) -> list[object]:
    with uvicorn("app.main:create_app", env=db_env, name=f"fanout-{count}") as server, tempfile.TemporaryDirectory() as tmp:
        query_file = Path(tmp) / "subscription.graphql"
        query_file.write_text(SUBSCRIPTION)
        await asyncio.sleep(1)
        rss_before = server.rss_kib()
        ws_url = f"ws://127.0.0.1:{server.port}/graphql"
        processes, outs = [], []
        for n in range(math.ceil(count / args.per_process)):
            share = min(args.per_process, count - n * args.per_process)
            out = Path(tmp) / f"client-{n}.json"
            outs.append(out)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.fanout_client", ws_url, viewer, str(share), str(query_file), str(out)],
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        try:
            connect_started = time.perf_counter()
            ready_errors = 0
            for p in processes:  # each prints "ready N errors E" once its subscribers are in
                assert p.stdout is not None  # started with stdout=PIPE
                line = await asyncio.wait_for(asyncio.to_thread(p.stdout.readline), timeout=args.connect_timeout)
                ready_errors += int(line.split()[-1]) if line.startswith("ready") else count
            connect_took = time.perf_counter() - connect_started
            await asyncio.sleep(2)  # let the subscriptions reach the bus
            rss_after = server.rss_kib()
            cpu_before = server.cpu_seconds()
            sent = 0
            async with httpx.AsyncClient(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {staff}"}) as client:
                started = time.perf_counter()
                while time.perf_counter() - started < args.seconds:
                    due = started + sent / args.rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    r = await client.post(
                        "/graphql",
                        json={"query": NOTE, "variables": {"id": str(order_ids[sent % len(order_ids)]), "text": f"bench {sent}"}},
                    )
                    assert not r.json().get("errors"), r.text
                    sent += 1
            # Give a saturated server time to push the backlog out (a few times its ~35 µs per delivery).
            await asyncio.sleep(min(args.drain + sent * count * 0.0001, 180))
            cpu_used = server.cpu_seconds() - cpu_before
        finally:
            for p in processes:
                p.terminate()
            for p in processes:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        latencies: list[float] = []  # to the data's arrival on the client's socket
        read_latencies: list[float] = []  # to the client process reading it
        errors = 0
        for out in outs:
            if not out.exists():
                errors += args.per_process
                continue
            data = orjson.loads(out.read_bytes())
            errors += data["error_count"]
            for arrived_at, read_at, _seq, at in data["received"]:
                if at:
                    committed = datetime.fromisoformat(at).timestamp()
                    latencies.append((arrived_at - committed) * 1000)
                    read_latencies.append((read_at - committed) * 1000)
    expected = sent * count
    per_sub = (rss_after - rss_before) / max(count, 1)
    return [
        f"{count:,}",
        f"{connect_took:.0f}",
        f"{args.rate:g}",
        sent,
        f"{len(latencies):,} / {expected:,}",
        f"{statistics.median(latencies):.0f}" if latencies else "-",
        f"{percentile(latencies, 0.99):.0f}" if latencies else "-",
        f"{max(latencies):.0f}" if latencies else "-",
        f"{percentile(read_latencies, 0.99):.0f}" if read_latencies else "-",
        f"{cpu_used * 1e6 / max(len(latencies), 1):.0f}",
        f"{per_sub:.0f}",
        f"{rss_after / 1024:.0f}",
        errors + ready_errors,
    ]


async def main(args: argparse.Namespace) -> list[str]:
    from app.graphql.schema import SUBSCRIPTIONS

    if not SUBSCRIPTIONS:
        raise NotReady("subscriptions are not in this build")
    rows = []
    async with pg_schema("bench_fanout") as (db, schema):
        await generate(db, Spec(orders=100, items=3), SystemClock().now())
        async with db.write_session() as session:
            viewer, _ = await create_token(session, name="bench-dashboard", role=Role.VIEWER, now=SystemClock().now())
            staff, _ = await create_token(session, name="bench-writer", role=Role.STAFF, now=SystemClock().now())
            await session.commit()
        async with db.read() as session:
            from sqlalchemy import select

            order_ids = list(
                (await session.execute(select(table_of(CustomerOrder).c.id).order_by(table_of(CustomerOrder).c.id))).scalars()
            )
        env = app_env(db, schema, BROADCAST_URL="memory://")
        for count in sorted(int(s) for s in str(args.subscribers).split(",")):
            row = await one_size(env, viewer, staff, order_ids, count, args)
            print("  " + " | ".join(str(c) for c in row), flush=True)
            rows.append(row)
    title = (
        f"Live fan-out on one server process: dashboards on orderEventsMatching, {args.rate:g} order changes/s for "
        f"{args.seconds:g} s; latency from the event's time (its transaction's start) to its arrival on the "
        f"client's socket (p99 read: to the client process reading it; {args.per_process:,} connections per "
        f"client process); server CPU includes the keep-alive pings of every connection"
    )
    return [
        table(
            title,
            [
                "subscribers",
                "connect s",
                "changes/s",
                "events",
                "delivered",
                "p50 ms",
                "p99 ms",
                "max ms",
                "p99 ms read",
                "server CPU µs/delivery",
                "KiB/subscriber",
                "server RSS MiB",
                "errors",
            ],
            rows,
        )
    ]


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}subscribers", default="1000,5000,10000", help="comma-separated sizes")
    p.add_argument(f"--{prefix}rate", type=float, default=1.0, help="order changes per second")
    p.add_argument(f"--{prefix}seconds", type=float, default=10.0)
    p.add_argument(
        f"--{prefix}drain", type=float, default=5.0, help="seconds to wait for the last pushes (more is added per delivery)"
    )
    p.add_argument(f"--{prefix}connect-timeout", type=float, default=300.0)
    p.add_argument(f"--{prefix}per-process", type=int, default=5000, help="subscribers per client process")


def quick(args: argparse.Namespace) -> None:
    args.subscribers, args.seconds = "200,1000", 5


__all__ = ["NotReady", "add_arguments", "main", "quick"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
