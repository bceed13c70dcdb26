"""Benchmark 1: the dashboard's order-tree query: ordertrack, PostGraphile 4 and a hand-written endpoint.

Five servers answer the same question on the same PostgreSQL tables: ordertrack with its response
cache, ordertrack with the cache off (every request executed by the read planner: one statement),
ordertrack with the cache and the planner off (strawberry's execution with DataLoaders, the path
before the planner), PostGraphile 4 (the peer, with the connection filter plugin) and a hand-written
Starlette + asyncpg + orjson endpoint (the limit). Every
answer is checked equal field by field before the load (PostGraphile's shaped into ordertrack's).
Each condition loads the five one after the other with wrk (same connections, same seconds): one
question while a background writer commits 0 / 10 / 50 / 200 changes per second on other orders
(a note: it numbers an event, so a cache validated by the event log sees a change), and 8 different
questions in turn while 50 changes per second commit. CPU per request is the server process's CPU
time over the run divided by its requests (PostgreSQL's own CPU over the run is shown apart; it
includes the writer's and that of connections that closed during the run is lost). Statements per request are counted in-process for several page sizes.

    python -m bench.tree [--orders 20000] [--first 50] [--seconds 10] [--connections 8] [--write-rates 0,10,50,200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from app.auth import Actor, Role, create_token
from app.clock import SystemClock
from app.columns import table_of
from app.config import Settings
from app.datagen import Spec, generate, settle_tables
from app.db import Database
from app.main import create_app
from app.orders import service
from bench import handwritten, postgraphile
from bench.common import PG_URL, LoadResult, NotReady, Server, app_env, pg_schema, postgres_cpu_by_process, table, uvicorn, wrk

DASHBOARD = """query Dashboard($first: Int!, $states: [OrderState!], $priorities: [Priority!], $direction: SortDirection!) {
  customerOrders(first: $first, filter: {states: $states, priorities: $priorities}, sort: COMMITTED_DATE, direction: $direction) {
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


STATES = ["ACKNOWLEDGED", "IN_PROGRESS"]
PRIORITY_SETS = [["LOW", "NORMAL", "HIGH", "CRITICAL"], ["HIGH", "CRITICAL"], ["NORMAL"], ["LOW"]]
QUESTIONS = [
    (priorities, direction) for direction in ("ASC", "DESC") for priorities in PRIORITY_SETS
]  # 8; the first is "one question"


def variables(first: int, question: int = 0) -> dict[str, Any]:
    priorities, direction = QUESTIONS[question]
    return {"first": first, "states": STATES, "priorities": priorities, "direction": direction}


def body(first: int, question: int = 0) -> bytes:
    return orjson.dumps({"query": DASHBOARD, "variables": variables(first, question)})


def peer_body(first: int, question: int = 0) -> bytes:
    """The same question for PostGraphile (stored enum values)."""
    v = variables(first, question)
    return postgraphile.body(
        first,
        [handwritten.VALUE_OF_STATE[s] for s in v["states"]],
        [handwritten.VALUE_OF_PRIORITY[p] for p in v["priorities"]],
        v["direction"],
    )


NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"


async def prepare(db: Database, orders: int, items: int) -> str:
    """Generate the data, settle it as ``ordertrack generate`` does (VACUUM (ANALYZE): without planner
    statistics PostgreSQL sorted all 20,000 wide order rows for every page) and return a viewer token."""
    await generate(db, Spec(orders=orders, items=items, chunk=2000), SystemClock().now())
    await settle_tables(db)
    return await token(db, "bench-dashboard", Role.VIEWER)


async def index_foreign_keys(db: Database) -> list[str]:
    """An index on every foreign key column no index starts with, as PostGraphile's documentation asks
    (it reads each relation by its foreign key; ordertrack reads the tree by ``order_id``). Same tables
    for every server measured. Returns the indexes made."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  registers every table

    made = []
    for stored in SQLModel.metadata.sorted_tables:
        led = {index.columns[0].name for index in stored.indexes if index.columns}
        led |= {stored.primary_key.columns[0].name} if stored.primary_key.columns else set()
        for fk in stored.foreign_keys:
            column = fk.parent.name
            if column not in led:
                led.add(column)
                made.append(f"bench_fk_{stored.name}_{column}")
                async with db.engine.begin() as conn:
                    await conn.execute(text(f'CREATE INDEX "{made[-1]}" ON "{stored.name}" ("{column}")'))
                    await conn.execute(text(f'ANALYZE "{stored.name}"'))
    return made


async def token(db: Database, name: str, role: Role) -> str:
    async with db.write_session() as session:
        plain, _ = await create_token(session, name=name, role=role, now=SystemClock().now())
        await session.commit()
    return plain


def settings_for(db: Database, schema: str, cache: bool, planner: bool = True) -> Settings:
    return Settings(
        database_url=str(db.url),
        database_schema=schema,
        monitor_enabled=False,
        response_cache_size=256 if cache else 0,
        read_planner=planner,
        _env_file=None,
    )


async def statements_per_request(
    db: Database, schema: str, token: str, sizes: list[int], cache: bool, planner: bool = True
) -> tuple[dict[int, int], dict[str, Any]]:
    """Run the query in-process for each page size; count SQL statements of a repeated request (with the
    cache on: a hit). Returns the counts and the last body."""
    app = create_app(
        settings_for(db, schema, cache, planner), db=db, components=[]
    )  # no bus: its safety-net polls would be counted too
    counts: dict[int, int] = {}
    result: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for first in sizes:
                await client.post("/graphql", content=body(first), headers=headers(token))  # warm the caches
                before = db.statements.count
                response = await client.post("/graphql", content=body(first), headers=headers(token))
                counts[first] = db.statements.count - before
                result = response.json()
                assert not result.get("errors"), result["errors"]
    return counts, result


async def cpu_per_request(
    db: Database, schema: str, token: str, first: int, repeat: int = 20
) -> tuple[float, float, float, float]:
    """CPU ms per request in-process (robust on a shared machine): GraphQL over ASGI answered from the
    response cache, with the cache off (planned), with the cache and the planner off (strawberry), the
    hand-written function."""
    import time

    import asyncpg

    graphql_ms = []
    for cache, planner in ((True, True), (False, True), (False, False)):
        app = create_app(settings_for(db, schema, cache, planner), db=db, components=[])
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                await client.post("/graphql", content=body(first), headers=headers(token))
                started = time.process_time()
                for _ in range(repeat):
                    await client.post("/graphql", content=body(first), headers=headers(token))
                graphql_ms.append((time.process_time() - started) * 1000 / repeat)
    pool = await asyncpg.create_pool(
        str(db.url).replace("postgresql+asyncpg://", "postgresql://"),
        min_size=1,
        max_size=2,
        server_settings={"search_path": schema},
    )
    try:
        await handwritten.dashboard(pool, f"Bearer {token}", first)
        started = time.process_time()
        for _ in range(repeat):
            orjson.dumps(await handwritten.dashboard(pool, f"Bearer {token}", first))
        hand_ms = (time.process_time() - started) * 1000 / repeat
    finally:
        await pool.close()
    return graphql_ms[0], graphql_ms[1], graphql_ms[2], hand_ms


async def connections_opened(
    db: Database, schema: str, token: str, first: int, *, planner: bool, requests: int = 48, concurrency: int = 8
) -> int:
    """New database connections the service opens while ``requests`` uncached dashboard requests run
    ``concurrency`` at a time (in-process, the service's default pool, after a warm-up that fills it)."""
    from sqlalchemy import event

    settings = settings_for(db, schema, False, planner)
    db = Database(PG_URL, schema=schema, pool_size=settings.db_pool_size)
    app = create_app(settings, db=db, components=[])
    opened = 0

    def count(*_: Any) -> None:
        nonlocal opened
        opened += 1

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120) as client:

            async def burst(n: int) -> None:
                for _ in range(n // concurrency):
                    await asyncio.gather(
                        *(client.post("/graphql", content=body(first), headers=headers(token)) for _ in range(concurrency))
                    )

            await burst(concurrency)
            event.listen(db.engine.sync_engine, "connect", count)
            try:
                await burst(requests)
            finally:
                event.remove(db.engine.sync_engine, "connect", count)
    await db.dispose()
    return opened


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


__all__ = ["NotReady", "add_arguments", "main", "quick"]

# wrk sends the bodies of BENCH_BODY_FILE (one a line) in turn.
ROTATING_SCRIPT = """
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODY_FILE")) do bodies[#bodies + 1] = line end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
"""


@dataclass
class Run:
    load: LoadResult
    cpu_ms: float  # server CPU per request over the run
    pg_ms: float  # PostgreSQL CPU per request over the run (the writer's work included)
    hits: float | None = None  # share of requests answered from the response cache (the server's counters)
    writes: float = 0.0  # writes per second the writer committed during the run


async def cache_counts(client: httpx.AsyncClient, url: str) -> dict[str, float]:
    """The server's ordertrack_response_cache_total by outcome (hit, miss) so far."""
    counts = {"hit": 0.0, "miss": 0.0}
    for line in (await client.get(f"{url}/metrics")).text.splitlines():
        for outcome in counts:
            if line.startswith(f'ordertrack_response_cache_total{{outcome="{outcome}"}}'):
                counts[outcome] += float(line.rsplit(" ", 1)[1])
    return counts


async def load(
    server: Server,
    bodies: list[bytes],
    token: str,
    args: argparse.Namespace,
    *,
    writer: Writer | None = None,
    metered: bool = False,
) -> Run:
    """wrk against ``server`` with ``bodies`` in turn (optionally while ``writer`` commits): CPU per request, hit rate."""
    async with httpx.AsyncClient(timeout=30) as client:
        before = await cache_counts(client, server.url) if metered else {}
        cpu_before, pg_before = server.cpu_seconds(), postgres_cpu_by_process()
        writing = asyncio.create_task(writer.run()) if writer else None
        try:
            result = await asyncio.to_thread(
                wrk,
                f"{server.url}/graphql",
                b"\n".join(bodies),
                f"Bearer {token}",
                connections=args.connections,
                seconds=args.seconds,
                script=ROTATING_SCRIPT,
            )
        finally:
            if writing is not None:
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)
        if writer and writer.failure and not writer.written:
            raise SystemExit(f"the bench writer failed: {writer.failure}")
        if writer and writer.failed:
            print(f"{server.name}: {writer.failed} of the writer's writes failed (last: {writer.failure})", flush=True)
        requests = max(result.requests, 1)
        cpu = (server.cpu_seconds() - cpu_before) * 1000 / requests
        pg_after = postgres_cpu_by_process()
        pg = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in pg_after.items()) * 1000 / requests
        hits = None
        if metered:
            after = await cache_counts(client, server.url)
            hit, miss = after["hit"] - before["hit"], after["miss"] - before["miss"]
            hits = hit / (hit + miss) if hit + miss else 0.0
    return Run(result, cpu, pg, hits, writer.achieved if writer else 0.0)


class Writer:
    """Commits ``rate`` notes per second on ``order_ids`` (in turn) through the domain, until cancelled.

    In the bench's own process (not through a server's HTTP endpoint): the servers measured share the
    machine with it, and a domain call costs less CPU than an HTTP request carrying it. Each note is one
    transaction that numbers an event, like any change made through the API. ``workers`` tasks, each
    with its own pooled connection, take the writes from one schedule (the n-th is due at n / rate
    seconds): a slow commit delays only its worker, and a worker that falls behind writes its next one
    at once, so the rate holds while the database keeps up. ``achieved`` is the rate actually
    committed over the time the writer ran; a shortfall is reported, not hidden. The writer's own
    transactions commit without waiting for the WAL flush (``synchronous_commit = off``, this
    connection only): every commit still holds the event log's sequence lock until it is done, and
    on a shared disk the flush under that lock alone capped the writer near 25 writes/s; what the
    readers see (a committed event, changed rows) is the same.
    """

    def __init__(self, db: Database, order_ids: list[int], rate: float, workers: int = 0) -> None:
        self.db, self.order_ids, self.rate = db, order_ids, rate
        # enough workers for commits of up to ~120 ms at the rate asked, at most one per target order
        self.workers = workers or max(2, min(len(order_ids), 8, int(rate * 0.12) + 2))
        self.written, self.failed, self.failure, self.seconds = 0, 0, "", 0.0
        self.actor = Actor(name="bench-writer", role=Role.STAFF)

    @property
    def achieved(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0

    async def _write(self, n: int) -> None:
        try:
            async with self.db.write(self.actor, SystemClock().now()) as uow:
                await uow.session.execute(text("SET LOCAL synchronous_commit = off"))
                await service.add_note(uow, self.order_ids[n % len(self.order_ids)], f"bench write {n}")
            self.written += 1
        except Exception as exc:  # noqa: BLE001  counted and reported by load(); only a writer that never commits stops the bench
            self.failed += 1
            self.failure = f"{type(exc).__name__}: {exc}"

    async def run(self) -> None:
        started = time.monotonic()
        tickets = iter(range(10**9))

        async def worker() -> None:
            while not (self.failure and not self.written):
                n = next(tickets)
                delay = started + n / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self._write(n)

        try:
            await asyncio.gather(*(worker() for _ in range(self.workers)))
        finally:
            self.seconds = time.monotonic() - started


@dataclass(frozen=True)
class Condition:
    name: str
    questions: int
    write_rate: float


def rates(args: argparse.Namespace) -> list[float]:
    """Every write rate a condition asks for (at least one value, for sizing the writer's pool)."""
    asked = [float(r) for r in str(args.write_rates).split(",") if r.strip()] + [args.mixed_rate]
    return [r for r in asked if r > 0] or [1.0]


def conditions(args: argparse.Namespace) -> list[Condition]:
    found = [
        Condition(f"one question, {r:g} writes/s", 1, r)
        for r in (float(r) for r in str(args.write_rates).split(",") if r.strip())
    ]
    if args.mixed_rate >= 0:
        found.append(
            Condition(f"{len(QUESTIONS)} different questions, {args.mixed_rate:g} writes/s", len(QUESTIONS), args.mixed_rate)
        )
    return found


async def check_answers(servers: dict[str, Server], token: str, first: int) -> tuple[list[dict[str, Any]], set[int]]:
    """Every question asked of every server: equal bodies from ordertrack (cached, uncached) and the
    hand-written endpoint, and PostGraphile's answer equal field by field. Returns ordertrack's answers
    and the ids of the orders in them."""
    answers: list[dict[str, Any]] = []
    ids: set[int] = set()
    async with httpx.AsyncClient(timeout=120) as client:
        for q in range(len(QUESTIONS)):
            ours = [
                (await client.post(f"{servers[n].url}/graphql", content=body(first, q), headers=headers(token))).json()
                for n in ("ordertrack", "ordertrack-uncached", "strawberry-uncached", "handwritten")
            ]
            if ours[0].get("errors") or not ours[0] == ours[1] == ours[2] == ours[3]:
                raise SystemExit(
                    f"question {q}: ordertrack (cached, planned, strawberry) and the hand-written endpoint answer differently"
                )
            peer = (
                await client.post(
                    f"{servers['postgraphile'].url}/graphql",
                    content=peer_body(first, q),
                    headers={"Content-Type": "application/json"},
                )
            ).json()
            if peer.get("errors"):
                raise SystemExit(f"PostGraphile: {peer['errors']}")
            differs = postgraphile.difference(postgraphile.comparable(ours[0]), postgraphile.shaped(peer))
            if differs:
                raise SystemExit(f"question {q}: PostGraphile's answer differs from ordertrack's at {differs}")
            answers.append(ours[0])
            ids |= {int(e["node"]["id"]) for e in ours[0]["data"]["customerOrders"]["edges"]}
    return answers, ids


async def other_orders(db: Database, answered: set[int], count: int = 50) -> list[int]:
    """Open orders none of the questions' answers contains: the writer's targets."""
    from sqlalchemy import select

    from app.orders.models import CustomerOrder

    async with db.read() as session:
        rows = (
            await session.execute(
                select(table_of(CustomerOrder).c.id).order_by(table_of(CustomerOrder).c.id.desc()).limit(count + len(answered))
            )
        ).scalars()
        return [i for i in rows if i not in answered][:count]


async def main(args: argparse.Namespace) -> list[str]:
    async with pg_schema("bench_tree") as (db, schema):
        token = await prepare(db, args.orders, args.items)
        print("indexes on foreign keys for the peer:", ", ".join(await index_foreign_keys(db)) or "none needed", flush=True)
        sizes = sorted({10, args.first, 100})
        hit_counts, _ = await statements_per_request(db, schema, token, sizes, cache=True)
        off_counts, _ = await statements_per_request(db, schema, token, sizes, cache=False)
        plain_counts, _ = await statements_per_request(db, schema, token, sizes, cache=False, planner=False)
        cpu_hit, cpu_off, cpu_plain, cpu_hand = await cpu_per_request(db, schema, token, args.first)
        opened_planned = await connections_opened(db, schema, token, args.first, planner=True)
        opened_plain = await connections_opened(db, schema, token, args.first, planner=False)
        env = app_env(db, schema)
        runs: dict[tuple[str, str], Run] = {}
        with (
            uvicorn("app.main:create_app", env=env, name="ordertrack") as gql,
            uvicorn("app.main:create_app", env={**env, "RESPONSE_CACHE_SIZE": "0"}, name="ordertrack-uncached") as off,
            uvicorn(
                "app.main:create_app", env={**env, "RESPONSE_CACHE_SIZE": "0", "READ_PLANNER": "false"}, name="strawberry"
            ) as plain,
            uvicorn("bench.handwritten:create_app", env=env, name="handwritten") as hand,
            postgraphile.postgraphile(PG_URL, schema) as peer,
        ):
            servers: dict[str, Server] = {
                "ordertrack": gql,
                "ordertrack-uncached": off,
                "strawberry-uncached": plain,
                "postgraphile": peer,
                "handwritten": hand,
            }
            answers, answered = await check_answers(servers, token, args.first)
            targets = await other_orders(db, answered)
            # the writer's own pool, a connection per worker (the largest rate asked decides how many)
            writes = Database(PG_URL, schema=schema, pool_size=max(Writer(db, targets, r).workers for r in rates(args)))
            edges = answers[0]["data"]["customerOrders"]["edges"]
            orders_returned = len(edges)
            items_returned = sum(len(e["node"]["allItems"]) for e in edges)
            for condition in conditions(args):
                for name, server in servers.items():
                    bodies = [(peer_body if name == "postgraphile" else body)(args.first, q) for q in range(condition.questions)]
                    await asyncio.to_thread(
                        wrk,
                        f"{server.url}/graphql",
                        b"\n".join(bodies),
                        f"Bearer {token}",
                        connections=args.connections,
                        seconds=1,
                        script=ROTATING_SCRIPT,
                    )  # warm up
                    writer = Writer(writes, targets, condition.write_rate) if condition.write_rate > 0 else None
                    runs[(condition.name, name)] = await load(
                        server, bodies, token, args, writer=writer, metered=name == "ordertrack"
                    )
            await writes.dispose()
            await check_answers(servers, token, args.first)  # still equal after the writes (they touched other orders only)

    def per_size(counts: dict[int, int]) -> str:
        return " / ".join(f"{counts[k]} @{k}" for k in sorted(counts))

    rows = []
    for condition in conditions(args):
        peer_rps = runs[(condition.name, "postgraphile")].load.requests_per_s
        hand_rps = runs[(condition.name, "handwritten")].load.requests_per_s
        for name in servers:
            run = runs[(condition.name, name)]
            g = run.load
            rows.append(
                [
                    condition.name,
                    name,
                    f"{g.requests_per_s:,.0f}",
                    f"{g.p50_ms:.1f}",
                    f"{g.p99_ms:.1f}",
                    g.errors,
                    f"{run.cpu_ms:.1f}",
                    f"{run.pg_ms:.1f}",
                    f"{g.requests_per_s / peer_rps:.2f}×" if peer_rps else "–",
                    f"{g.requests_per_s / hand_rps:.2f}×" if hand_rps else "–",
                    f"{run.hits:.0%}" if run.hits is not None else "–",
                    f"{run.writes:.0f}" if condition.write_rate else "0",
                ]
            )
    title = (
        f"Order-tree query: {orders_returned} orders × {items_returned // max(orders_returned, 1)} items with activities, "
        f"service order requests and party orders, of {args.orders:,} orders; {args.connections} connections, "
        f"{args.seconds:g} s per server and condition, one process each"
    )
    tables = [
        table(
            title,
            [
                "condition",
                "server",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "server CPU ms/req",
                "PostgreSQL CPU ms/req",
                "× PostGraphile",
                "× hand-written",
                "cache hits",
                "writes/s done",
            ],
            rows,
        )
    ]
    in_process = [
        ["response cache (hit)", per_size(hit_counts), f"{cpu_hit:.1f}", "–"],
        ["cache off, planned (one statement)", per_size(off_counts), f"{cpu_off:.1f}", str(opened_planned)],
        ["cache off, planner off (strawberry)", per_size(plain_counts), f"{cpu_plain:.1f}", str(opened_plain)],
        ["hand-written", f"{len(handwritten.STATEMENTS)}", f"{cpu_hand:.1f}", "–"],
    ]
    tables.append(
        table(
            "ordertrack in-process, one question: SQL statements per request (@ page size), CPU per request (one at a "
            "time), database connections opened over 48 uncached requests 8 at a time (the service's default pool, warmed)",
            ["path", "SQL statements/request", "CPU ms/request", "connections opened"],
            in_process,
        )
    )
    return tables


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}orders", type=int, default=20000, help="open orders in the database")
    p.add_argument(f"--{prefix}items", type=int, default=5, help="items per order")
    p.add_argument(f"--{prefix}first", type=int, default=50, help="orders per dashboard page")
    p.add_argument(f"--{prefix}seconds", type=float, default=10, help="load time per server and condition")
    p.add_argument(f"--{prefix}connections", type=int, default=8)
    p.add_argument(f"--{prefix}write-rates", default="0,10,50,200", help="changes per second on other orders, one condition each")
    p.add_argument(
        f"--{prefix}mixed-rate", type=float, default=50, help="changes per second while the 8 questions run (-1: skip it)"
    )


def quick(args: argparse.Namespace) -> None:
    args.orders, args.seconds, args.connections, args.write_rates = 2000, 3, 4, "0,50"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
