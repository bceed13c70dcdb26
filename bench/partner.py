"""Benchmark 4: partner progress reports per second, each a durable transaction with its events.

The service runs as one uvicorn process with 2 workers; wrk (its own process) sends
``reportPartyOrderProgress`` mutations from several partners, each with its own token, spread over
their acknowledged party orders, every request with a fresh idempotency key. "Committed" counts the
report rows in the database afterwards, so only durable reports count. Events are published after
commit to whatever bus the build has (pushes). The generated orders are swept once first, as the
monitor would have done. ``--baseline`` runs another checkout's code (e.g. a git worktree of main)
on the same data in the same run, interleaved with this one, and prints the ratio.

    python -m bench.partner [--orders 20000] [--seconds 15] [--connections 16] [--workers 2] [--baseline PATH] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import uuid
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import col

from app.auth import Role, create_token
from app.clock import SystemClock
from app.datagen import Spec, generate, settle_tables
from app.db import Database
from app.events import Event
from app.jeopardy.monitor import Monitor
from app.jeopardy.policy import load_policy
from app.party_orders.models import PartyOrder, PartyProgressReport
from bench.common import ROOT, SERVICE, NotReady, app_env, pg_schema, postgres_cpu_seconds, table, uvicorn, wrk

MUTATION = (
    "mutation($id: ID!, $key: String!, $input: ProgressReportInput!) { "
    "reportPartyOrderProgress(id: $id, idempotencyKey: $key, input: $input) { id percentComplete version } }"
)

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
        # One sweep, as the running monitor would have made: it stores every row's next jeopardy check
        # time, without which the fast path cannot tell that a report changes nothing derived.
        await Monitor(db, SystemClock(), policy=load_policy(), interval=60).sweep()
        tokens, orders = [], []
        async with db.write_session() as session:
            for party_id in spec.party_ids:
                ids = list(
                    (
                        await session.execute(
                            select(col(PartyOrder.id)).where(
                                col(PartyOrder.party_id) == party_id, col(PartyOrder.acknowledged_at).is_not(None)
                            )
                        )
                    ).scalars()
                )
                if ids:
                    plain, _ = await create_token(
                        session, name=f"bench-partner-{party_id}", role=Role.PARTNER, now=SystemClock().now(), party_id=party_id
                    )
                    tokens.append(plain)
                    orders.append([str(i) for i in ids])
            await session.commit()
        if not tokens:
            raise NotReady("no acknowledged party orders were generated")
        lists = {
            "tokens": "{" + ",".join(json.dumps(t) for t in tokens) + "}",
            "orders": "{" + ",".join("{" + ",".join(json.dumps(i) for i in ids) + "}" for ids in orders) + "}",
            "mutation": json.dumps(json.dumps(MUTATION)),
        }
        new = ("this checkout", ROOT)
        bases = [(f"baseline {Path(b).name}", Path(b).resolve()) for b in args.baseline or ()]
        group = [*bases, new]
        codes = [code for r in range(max(1, args.rounds)) for code in (group if r % 2 == 0 else group[::-1])]
        rows, rates = [], defaultdict(list)
        for label, root in codes:  # every run its own idempotency keys
            row, committed_per_s = await _run(db, schema, args, LUA % {**lists, "run": uuid.uuid4().hex[:8]}, root)
            rows.append([label, *row])
            rates[label].append(committed_per_s)
            print(f"{label}: {committed_per_s:,.0f} committed reports/s", flush=True)
    headers = [
        "code",
        "workers",
        "connections",
        "requests/s",
        "committed reports/s",
        "events/report",
        "p50 ms",
        "p99 ms",
        "not committed",
        "server CPU ms/report",
        "PostgreSQL CPU ms/report",
    ]
    title = (
        f"Partner progress reports: {args.seconds:.0f} s of wrk per run against {args.workers} workers, "
        f"{len(tokens)} partners, {sum(len(o) for o in orders)} acknowledged party orders"
    )
    out = [table(title, headers, rows)]
    if bases:
        first = statistics.mean(rates[bases[0][0]])
        out.append(
            table(
                f"Committed reports/s, mean of each code's runs, against {bases[0][0]}",
                ["code", "committed reports/s", "ratio"],
                [
                    [label, f"{statistics.mean(rates[label]):,.0f}", f"{statistics.mean(rates[label]) / max(first, 1e-9):.2f}"]
                    for label, _ in group
                ],
            )
        )
    return out


async def _run(db: Database, schema: str, args: argparse.Namespace, script: str, root: Path) -> tuple[list[object], float]:
    """One wrk run against the service running ``root``'s code: its table row and committed reports/s."""
    async with db.read() as session:
        reports_before = (await session.execute(select(func.count()).select_from(PartyProgressReport))).scalar_one()
        events_before = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
    with uvicorn(SERVICE, env=app_env(db, schema), name="partner", workers=args.workers, root=root, timeout=180) as server:
        await asyncio.sleep(2)  # both workers up
        cpu_before, pg_before = server.cpu_seconds(), postgres_cpu_seconds()
        result = await asyncio.to_thread(
            wrk, f"{server.url}/graphql", b"", "", connections=args.connections, seconds=args.seconds, script=script
        )
        cpu, pg_cpu = server.cpu_seconds() - cpu_before, postgres_cpu_seconds() - pg_before
    async with db.read() as session:
        reports = (await session.execute(select(func.count()).select_from(PartyProgressReport))).scalar_one() - reports_before
        events = (await session.execute(select(func.count()).select_from(Event))).scalar_one() - events_before
    committed_per_s = reports / args.seconds
    return [
        args.workers,
        args.connections,
        f"{result.requests_per_s:,.0f}",
        f"{committed_per_s:,.0f}",
        f"{events / max(reports, 1):.1f}",
        f"{result.p50_ms:.1f}",
        f"{result.p99_ms:.1f}",
        max(0, result.requests - reports),
        f"{cpu * 1000 / max(reports, 1):.2f}",
        f"{pg_cpu * 1000 / max(reports, 1):.2f}" if pg_cpu else "-",
    ], committed_per_s


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}orders", type=int, default=20000, help="customer orders generated (half with a party order)")
    p.add_argument(f"--{prefix}partners", type=int, default=10)
    p.add_argument(f"--{prefix}seconds", type=float, default=15)
    p.add_argument(f"--{prefix}connections", type=int, default=16)
    p.add_argument(f"--{prefix}workers", type=int, default=2)
    p.add_argument(
        f"--{prefix}baseline",
        action="append",
        help="another checkout (e.g. a git worktree of main) measured in the same run on the same data; may repeat",
    )
    p.add_argument(
        f"--{prefix}rounds",
        type=int,
        default=2,
        help="runs of each code, interleaved (baselines, this, this, baselines reversed, ...)",
    )


def quick(args: argparse.Namespace) -> None:
    args.orders, args.seconds, args.connections = 2000, 4, 8


__all__ = ["NotReady", "add_arguments", "main", "quick"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
