"""Benchmark 1: the dashboard's order-tree query, GraphQL versus a hand-written endpoint (the limit).

Both run as uvicorn processes (one worker each) on the same PostgreSQL data; wrk loads them one after
the other from its own process. Statements per request are counted in-process with
``db.statements.count`` for several page sizes: they must not grow with the page.

    python -m bench.tree [--orders 500] [--first 50] [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httpx
import orjson

from app.auth import Role, create_token
from app.clock import SystemClock
from app.config import Settings
from app.datagen import Spec, generate
from app.db import Database
from app.main import create_app
from bench import handwritten
from bench.common import NotReady, app_env, pg_schema, table, uvicorn, wrk

DASHBOARD = """query Dashboard($first: Int!) {
  customerOrders(first: $first, filter: {states: [ACKNOWLEDGED, IN_PROGRESS]}, sort: COMMITTED_DATE, direction: ASC) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id salesRequestRef customerName priority state committedDate expectedCompletion jeopardyLevel version
      allItems { id parentId productRef quantity fulfillment state
        activities { id kind state plannedStart plannedEnd expectedEnd percentComplete predecessorIds }
        serviceOrderRequest { id state externalRef }
        partyOrders { id partyId state percentComplete expectedDeliveryDate jeopardyLevel }
      }
    } }
  }
}"""


def body(first: int) -> bytes:
    return orjson.dumps({"query": DASHBOARD, "variables": {"first": first}})


async def prepare(db: Database, orders: int, items: int) -> str:
    """Generate the data and return a viewer token."""
    await generate(db, Spec(orders=orders, items=items, chunk=2000), SystemClock().now())
    async with db.write_session() as session:
        plain, _ = await create_token(session, name="bench-dashboard", role=Role.VIEWER, now=SystemClock().now())
        await session.commit()
    return plain


async def statements_per_request(db: Database, schema: str, token: str, sizes: list[int]) -> tuple[dict[int, int], dict[str, Any]]:
    """Run the query in-process for each page size; count SQL statements. Returns the counts and the last body."""
    settings = Settings(database_url=str(db.url), database_schema=schema, monitor_enabled=False, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, db=db, components=[])  # no bus: its safety-net polls would be counted too
    counts: dict[int, int] = {}
    result: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:  # type: ignore[arg-type]
            for first in sizes:
                await client.post("/graphql", content=body(first), headers=headers(token))  # warm the caches
                before = db.statements.count
                response = await client.post("/graphql", content=body(first), headers=headers(token))
                counts[first] = db.statements.count - before
                result = response.json()
                assert not result.get("errors"), result["errors"]
    return counts, result


async def cpu_per_request(db: Database, schema: str, token: str, first: int, repeat: int = 20) -> tuple[float, float]:
    """CPU ms per request in-process (robust on a shared machine): GraphQL over ASGI, the hand-written function."""
    import time

    import asyncpg

    settings = Settings(database_url=str(db.url), database_schema=schema, monitor_enabled=False, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, db=db, components=[])  # no bus: its safety-net polls would be counted too
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:  # type: ignore[arg-type]
            await client.post("/graphql", content=body(first), headers=headers(token))
            started = time.process_time()
            for _ in range(repeat):
                await client.post("/graphql", content=body(first), headers=headers(token))
            graphql_ms = (time.process_time() - started) * 1000 / repeat
    pool = await asyncpg.create_pool(str(db.url).replace("postgresql+asyncpg://", "postgresql://"), min_size=1, max_size=2,
                                     server_settings={"search_path": schema})
    try:
        await handwritten.dashboard(pool, f"Bearer {token}", first)
        started = time.process_time()
        for _ in range(repeat):
            orjson.dumps(await handwritten.dashboard(pool, f"Bearer {token}", first))
        hand_ms = (time.process_time() - started) * 1000 / repeat
    finally:
        await pool.close()
    return graphql_ms, hand_ms


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


__all__ = ["NotReady", "add_arguments", "main", "quick"]


async def main(args: argparse.Namespace) -> list[str]:
    async with pg_schema("bench_tree") as (db, schema):
        token = await prepare(db, args.orders, args.items)
        counts, _ = await statements_per_request(db, schema, token, sorted({10, args.first, 100}))
        cpu_graphql, cpu_hand = await cpu_per_request(db, schema, token, args.first)
        env = app_env(db, schema)
        results = {}
        with uvicorn("app.main:create_app", env=env, name="graphql") as gql, uvicorn("bench.handwritten:create_app", env=env, name="handwritten") as hand:
            async with httpx.AsyncClient(timeout=30) as client:
                answers = [(await client.post(f"{s.url}/graphql", content=body(args.first), headers=headers(token))).json() for s in (gql, hand)]
            assert not answers[0].get("errors"), answers[0]
            if answers[0] != answers[1]:
                raise SystemExit("the hand-written endpoint does not answer what GraphQL answers")
            orders_returned = len(answers[0]["data"]["customerOrders"]["edges"])
            items_returned = sum(len(e["node"]["allItems"]) for e in answers[0]["data"]["customerOrders"]["edges"])
            for server in (gql, hand):  # warm up both, then measure each on its own
                await asyncio.to_thread(wrk, f"{server.url}/graphql", body(args.first), f"Bearer {token}", connections=args.connections, seconds=1)
            for server in (gql, hand):
                results[server.name] = await asyncio.to_thread(
                    wrk, f"{server.url}/graphql", body(args.first), f"Bearer {token}", connections=args.connections, seconds=args.seconds
                )
    g, h = results["graphql"], results["handwritten"]
    hand_statements = len(handwritten.STATEMENTS)
    rows = [
        ["GraphQL (strawberry)", f"{g.requests_per_s:,.0f}", f"{g.p50_ms:.1f}", f"{g.p99_ms:.1f}", g.errors,
         " / ".join(f"{counts[k]} @{k}" for k in sorted(counts)), f"{g.requests_per_s / h.requests_per_s:.2f}×",
         f"{cpu_graphql:.1f}", f"{cpu_hand / cpu_graphql:.2f}×"],
        ["hand-written (orjson)", f"{h.requests_per_s:,.0f}", f"{h.p50_ms:.1f}", f"{h.p99_ms:.1f}", h.errors, f"{hand_statements}", "1.00×",
         f"{cpu_hand:.1f}", "1.00×"],
    ]
    title = (f"Order-tree query: {orders_returned} orders × {items_returned // max(orders_returned, 1)} items with activities and "
             f"service order requests and party orders; {args.connections} connections, {args.seconds:.0f} s each, one uvicorn worker")
    return [table(title, ["endpoint", "req/s", "p50 ms", "p99 ms", "errors", "SQL statements/request (@ page size)", "ratio",
                          "CPU ms/request in-process", "CPU ratio"], rows)]


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}orders", type=int, default=500, help="open orders in the database")
    p.add_argument(f"--{prefix}items", type=int, default=5, help="items per order")
    p.add_argument(f"--{prefix}first", type=int, default=50, help="orders per dashboard page")
    p.add_argument(f"--{prefix}seconds", type=float, default=15, help="load time per endpoint")
    p.add_argument(f"--{prefix}connections", type=int, default=8)


def quick(args: argparse.Namespace) -> None:
    args.orders, args.seconds, args.connections = 200, 3, 4


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
