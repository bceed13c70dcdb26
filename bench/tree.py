"""Benchmark 1: the dashboard's order-tree query, GraphQL versus a hand-written endpoint (the limit).

GraphQL runs three ways: answered from the response cache (the same question again, nothing
written), with the cache while a writer commits ``--write-rate`` changes per second through the API
(every commit makes the next answer fresh: the honest hit rate), and with the cache off (every
request executed). Each runs as a uvicorn process (one worker) on the same PostgreSQL data; wrk
loads them one after the other from its own process. Statements per request are counted
in-process with ``db.statements.count`` for several page sizes: they must not grow with the page.
Server CPU per request is the server process's CPU time over the wrk run divided by its requests.

    python -m bench.tree [--orders 500] [--first 50] [--seconds 10] [--connections 8] [--write-rate 1]
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
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
from bench.common import LoadResult, NotReady, app_env, pg_schema, table, uvicorn, wrk
from tests.launcher import ServiceProcess

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


NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"


async def prepare(db: Database, orders: int, items: int) -> str:
    """Generate the data and return a viewer token."""
    await generate(db, Spec(orders=orders, items=items, chunk=2000), SystemClock().now())
    return await token(db, "bench-dashboard", Role.VIEWER)


async def token(db: Database, name: str, role: Role) -> str:
    async with db.write_session() as session:
        plain, _ = await create_token(session, name=name, role=role, now=SystemClock().now())
        await session.commit()
    return plain


def settings_for(db: Database, schema: str, cache: bool) -> Settings:
    return Settings(database_url=str(db.url), database_schema=schema, monitor_enabled=False,  # type: ignore[call-arg]
                    response_cache_size=256 if cache else 0, _env_file=None)


async def statements_per_request(db: Database, schema: str, token: str, sizes: list[int], cache: bool) -> tuple[dict[int, int], dict[str, Any]]:
    """Run the query in-process for each page size; count SQL statements of a repeated request (with the
    cache on: a hit). Returns the counts and the last body."""
    app = create_app(settings_for(db, schema, cache), db=db, components=[])  # no bus: its safety-net polls would be counted too
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


async def cpu_per_request(db: Database, schema: str, token: str, first: int, repeat: int = 20) -> tuple[float, float, float]:
    """CPU ms per request in-process (robust on a shared machine): GraphQL over ASGI answered from the
    response cache, GraphQL with the cache off, the hand-written function."""
    import time

    import asyncpg

    graphql_ms = []
    for cache in (True, False):
        app = create_app(settings_for(db, schema, cache), db=db, components=[])
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:  # type: ignore[arg-type]
                await client.post("/graphql", content=body(first), headers=headers(token))
                started = time.process_time()
                for _ in range(repeat):
                    await client.post("/graphql", content=body(first), headers=headers(token))
                graphql_ms.append((time.process_time() - started) * 1000 / repeat)
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
    return graphql_ms[0], graphql_ms[1], hand_ms


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


__all__ = ["NotReady", "add_arguments", "main", "quick"]


@dataclass
class Run:
    load: LoadResult
    cpu_ms: float  # server CPU per request over the run
    hits: float | None = None  # share of requests answered from the response cache (the server's counters)
    writes: int = 0


async def cache_counts(client: httpx.AsyncClient, url: str) -> dict[str, float]:
    """The server's ordertrack_response_cache_total by outcome (hit, miss) so far."""
    counts = {"hit": 0.0, "miss": 0.0}
    for line in (await client.get(f"{url}/metrics")).text.splitlines():
        for outcome in counts:
            if line.startswith(f'ordertrack_response_cache_total{{outcome="{outcome}"}}'):
                counts[outcome] += float(line.rsplit(" ", 1)[1])
    return counts


async def load(server: ServiceProcess, args: argparse.Namespace, token: str, *, writer: Writer | None = None) -> Run:
    """wrk against ``server`` (optionally while ``writer`` commits), with the server's CPU per request and hit rate."""
    async with httpx.AsyncClient(timeout=30) as client:
        metered = server.name.startswith("graphql")
        before = await cache_counts(client, server.url) if metered else {}
        cpu_before = server.cpu_seconds()
        writing = asyncio.create_task(writer.run()) if writer else None
        result = await asyncio.to_thread(wrk, f"{server.url}/graphql", body(args.first), f"Bearer {token}",
                                         connections=args.connections, seconds=args.seconds)
        if writing is not None:
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
            if writer and writer.failure:
                raise SystemExit(f"the bench writer failed: {writer.failure}")
        cpu = (server.cpu_seconds() - cpu_before) * 1000 / max(result.requests, 1)
        hits = None
        if metered:
            after = await cache_counts(client, server.url)
            hit, miss = after["hit"] - before["hit"], after["miss"] - before["miss"]
            hits = hit / (hit + miss) if hit + miss else 0.0
    return Run(result, cpu, hits, writer.written if writer else 0)


class Writer:
    """Commits ``rate`` changes per second through the API (a note on an order) until cancelled."""

    def __init__(self, url: str, token: str, order_id: str, rate: float) -> None:
        self.url, self.token, self.order_id, self.rate = url, token, order_id, rate
        self.written, self.failure = 0, ""

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            while True:
                response = await client.post(f"{self.url}/graphql", headers=headers(self.token), content=orjson.dumps(
                    {"query": NOTE, "variables": {"id": self.order_id, "text": f"bench write {self.written}"}}))
                if response.json().get("errors"):
                    self.failure = response.text[:500]
                    return
                self.written += 1
                await asyncio.sleep(1 / self.rate)


async def main(args: argparse.Namespace) -> list[str]:
    async with pg_schema("bench_tree") as (db, schema):
        token = await prepare(db, args.orders, args.items)
        staff = await token_for(db)
        sizes = sorted({10, args.first, 100})
        hit_counts, _ = await statements_per_request(db, schema, token, sizes, cache=True)
        off_counts, _ = await statements_per_request(db, schema, token, sizes, cache=False)
        cpu_hit, cpu_off, cpu_hand = await cpu_per_request(db, schema, token, args.first)
        env = app_env(db, schema)
        runs: dict[str, Run] = {}
        with uvicorn("app.main:create_app", env=env, name="graphql") as gql, \
                uvicorn("app.main:create_app", env={**env, "RESPONSE_CACHE_SIZE": "0"}, name="graphql-uncached") as off, \
                uvicorn("bench.handwritten:create_app", env=env, name="handwritten") as hand:
            async with httpx.AsyncClient(timeout=30) as client:
                answers = [(await client.post(f"{s.url}/graphql", content=body(args.first), headers=headers(token))).json() for s in (gql, off, hand)]
            assert not answers[0].get("errors"), answers[0]
            if not answers[0] == answers[1] == answers[2]:
                raise SystemExit("the hand-written endpoint does not answer what GraphQL answers")
            edges = answers[0]["data"]["customerOrders"]["edges"]
            orders_returned = len(edges)
            items_returned = sum(len(e["node"]["allItems"]) for e in edges)
            for server in (gql, off, hand):  # warm up each, then measure each on its own
                await asyncio.to_thread(wrk, f"{server.url}/graphql", body(args.first), f"Bearer {token}", connections=args.connections, seconds=1)
            runs["hit"] = await load(gql, args, token)
            if args.write_rate > 0:
                runs["writes"] = await load(gql, args, token, writer=Writer(gql.url, staff, edges[0]["node"]["id"], args.write_rate))
            runs["off"] = await load(off, args, token)
            runs["hand"] = await load(hand, args, token)
    hand_rps, hand_statements = runs["hand"].load.requests_per_s, len(handwritten.STATEMENTS)

    def per_size(counts: dict[int, int]) -> str:
        return " / ".join(f"{counts[k]} @{k}" for k in sorted(counts))

    def row(name: str, run: Run, statements: str, in_process: float | None) -> list[Any]:
        g = run.load
        return [name, f"{g.requests_per_s:,.0f}", f"{g.p50_ms:.1f}", f"{g.p99_ms:.1f}", g.errors, statements,
                f"{g.requests_per_s / hand_rps:.2f}×", f"{run.cpu_ms:.1f}",
                f"{in_process:.1f}" if in_process is not None else "–",
                f"{cpu_hand / in_process:.2f}×" if in_process else "–",
                f"{run.hits:.1%}" if run.hits is not None else "–"]

    miss = off_counts[args.first] + 1  # a miss also reads the event sequence
    rows = [row("GraphQL, response cache (hit)", runs["hit"], per_size(hit_counts), cpu_hit)]
    if "writes" in runs:
        w = runs["writes"]
        rows.append(row(f"GraphQL, response cache, {args.write_rate:g} write/s ({w.writes} writes)", w,
                        f"1 per hit, {miss} per miss", None))
    rows += [
        row("GraphQL, cache off", runs["off"], per_size(off_counts), cpu_off),
        row("hand-written (orjson)", runs["hand"], f"{hand_statements}", cpu_hand),
    ]
    title = (f"Order-tree query: {orders_returned} orders × {items_returned // max(orders_returned, 1)} items with activities and "
             f"service order requests and party orders; {args.connections} connections, {args.seconds:.0f} s each, one uvicorn worker")
    return [table(title, ["endpoint", "req/s", "p50 ms", "p99 ms", "errors", "SQL statements/request (@ page size)", "ratio",
                          "server CPU ms/request", "CPU ms/request in-process", "CPU ratio", "cache hits"], rows)]


async def token_for(db: Database) -> str:
    """A staff token for the writer."""
    return await token(db, "bench-writer", Role.STAFF)


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}orders", type=int, default=500, help="open orders in the database")
    p.add_argument(f"--{prefix}items", type=int, default=5, help="items per order")
    p.add_argument(f"--{prefix}first", type=int, default=50, help="orders per dashboard page")
    p.add_argument(f"--{prefix}seconds", type=float, default=15, help="load time per endpoint")
    p.add_argument(f"--{prefix}connections", type=int, default=8)
    p.add_argument(f"--{prefix}write-rate", type=float, default=1.0, help="changes per second committed during the cache-with-writes run (0: skip it)")


def quick(args: argparse.Namespace) -> None:
    args.orders, args.seconds, args.connections = 200, 3, 4


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
