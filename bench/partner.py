"""Benchmark 4: partner progress reports per second, each a durable transaction with its events.

The service runs as one uvicorn process with 2 workers; wrk (its own process) sends
``reportPartyOrderProgress`` mutations from several partners, each with its own token, spread over
their acknowledged party orders, every request with a fresh idempotency key. "Committed" counts the
report rows in the database afterwards, so only durable reports count. Events are published after
commit to whatever bus the build has (pushes).

    python -m bench.partner [--orders 20000] [--seconds 15] [--connections 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from sqlalchemy import func, select, text

from app.auth import Role, create_token
from app.clock import SystemClock
from app.datagen import Spec, generate, settle_tables
from app.events import Event
from app.party_orders.models import PartyOrder, PartyProgressReport
from bench.common import NotReady, app_env, pg_schema, postgres_cpu_seconds, table, uvicorn, wrk

MUTATION = ("mutation($id: ID!, $key: String!, $input: ProgressReportInput!) { "
            "reportPartyOrderProgress(id: $id, idempotencyKey: $key, input: $input) { id percentComplete version } }")

# Rotates over partners and their party orders; every request gets a fresh idempotency key.
LUA = """
local tokens = %(tokens)s
local orders = %(orders)s
local run = "%(run)s"
local n = 0
local mutation = %(mutation)s
wrk.method = "POST"
request = function()
  n = n + 1
  local p = (n %% #tokens) + 1
  local list = orders[p]
  local id = list[(math.floor(n / #tokens) %% #list) + 1]
  local body = '{"query":' .. mutation .. ',"variables":{"id":"' .. id .. '","key":"' .. run .. '-' .. n ..
    '","input":{"percentComplete":' .. (n %% 100) .. ',"note":"bench report ' .. n .. '"}}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[p]}, body)
end
"""


async def main(args: argparse.Namespace) -> list[str]:
    async with pg_schema("bench_partner") as (db, schema):
        spec = Spec(orders=args.orders, party_share=0.5, parties=args.partners, chunk=5000)
        await generate(db, spec, SystemClock().now())
        await settle_tables(db)
        async with db.write_session() as session:
            # The tables the generator does not load (settle_tables has the others). Only this schema's
            # tables (search_path): a bare ANALYZE takes every schema's, and deadlocks with others' TRUNCATEs.
            await session.execute(text("ANALYZE party, party_request_key, party_progress_report"))
            await session.commit()
        tokens, orders = [], []
        async with db.write_session() as session:
            for party_id in spec.party_ids:
                ids = list((await session.execute(
                    select(PartyOrder.id).where(PartyOrder.party_id == party_id, PartyOrder.acknowledged_at.is_not(None))  # type: ignore[union-attr]
                )).scalars())
                if ids:
                    plain, _ = await create_token(session, name=f"bench-partner-{party_id}", role=Role.PARTNER, now=SystemClock().now(), party_id=party_id)
                    tokens.append(plain)
                    orders.append([str(i) for i in ids])
            await session.commit()
        if not tokens:
            raise NotReady("no acknowledged party orders were generated")
        script = LUA % {
            "tokens": "{" + ",".join(json.dumps(t) for t in tokens) + "}",
            "orders": "{" + ",".join("{" + ",".join(json.dumps(i) for i in ids) + "}" for ids in orders) + "}",
            "run": uuid.uuid4().hex[:8], "mutation": json.dumps(json.dumps(MUTATION)),
        }
        async with db.read() as session:
            events_before = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
        with uvicorn("app.main:create_app", env=app_env(db, schema), name="partner", workers=args.workers) as server:
            await asyncio.sleep(2)  # both workers up
            started, cpu_before, pg_before = time.perf_counter(), server.cpu_seconds(), postgres_cpu_seconds()
            result = await asyncio.to_thread(wrk, f"{server.url}/graphql", b"", "", connections=args.connections, seconds=args.seconds, script=script)
            took = time.perf_counter() - started
            cpu, pg_cpu = server.cpu_seconds() - cpu_before, postgres_cpu_seconds() - pg_before
        async with db.read() as session:
            reports = (await session.execute(select(func.count()).select_from(PartyProgressReport))).scalar_one()
            events = (await session.execute(select(func.count()).select_from(Event))).scalar_one() - events_before
    committed_per_s = reports / args.seconds
    rows = [[args.workers, args.connections, len(tokens), sum(len(o) for o in orders), f"{result.requests_per_s:,.0f}",
             f"{committed_per_s:,.0f}", f"{events / max(reports, 1):.1f}", f"{result.p50_ms:.1f}", f"{result.p99_ms:.1f}",
             max(0, result.requests - reports), f"{cpu * 1000 / max(reports, 1):.2f}",
             f"{pg_cpu * 1000 / max(reports, 1):.2f}" if pg_cpu else "-"]]
    title = f"Partner progress reports: {args.seconds:.0f} s of wrk against {args.workers} workers ({took:.0f} s wall)"
    return [table(title, ["workers", "connections", "partners", "party orders", "requests/s", "committed reports/s",
                          "events/report", "p50 ms", "p99 ms", "not committed",
                          "server CPU ms/report", "PostgreSQL CPU ms/report"], rows)]


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}orders", type=int, default=20000, help="customer orders generated (half with a party order)")
    p.add_argument(f"--{prefix}partners", type=int, default=10)
    p.add_argument(f"--{prefix}seconds", type=float, default=15)
    p.add_argument(f"--{prefix}connections", type=int, default=16)
    p.add_argument(f"--{prefix}workers", type=int, default=2)


def quick(args: argparse.Namespace) -> None:
    args.orders, args.seconds, args.connections = 2000, 4, 8


__all__ = ["NotReady", "add_arguments", "main", "quick"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
