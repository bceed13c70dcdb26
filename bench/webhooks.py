"""Benchmark: webhook deliveries per second to a local receiver, and the delay from commit to receipt.

The service runs as its own uvicorn process on PostgreSQL. Throughput: a backlog of notes is
written while the webhooks are paused, then they are resumed and the time until the receiver has
every delivery is taken: with one webhook (one event at a time, by design: in log order), with
several (each its own order), delivering in the app process and in an ``ordertrack deliver``
process of its own. Delay: notes are written at a steady rate through the API and each receipt is
timed from the mutation's answer (after its commit; a lower bound) and from the request's sending
(before it; an upper bound). The receiver (uvicorn, in this process) answers 204 at once.

    python -m bench.webhooks [--events 2000] [--webhooks 4] [--rate 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn as uvicorn_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth import Role, create_token
from app.clock import SystemClock
from bench.common import ROOT, NotReady, app_env, percentile, pg_schema, table, uvicorn
from tests.launcher import free_port

NOTE = "mutation($id: ID!, $t: String!) { addOrderNote(orderId: $id, text: $t) { id } }"
ORDER = """mutation($input: CreateCustomerOrderInput!) { createCustomerOrder(input: $input) { id } }"""
HOOK = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }"
PAUSE = "mutation($id: ID!, $p: Boolean!) { updateWebhook(id: $id, input: {paused: $p}) { webhook { state } } }"


class Receipts:
    """A receiver endpoint noting when each note's delivery arrived (by the note's text)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.count = 0
        self.changed = asyncio.Event()

    async def hook(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        for note in body["event"]["productOrder"].get("note", []):
            self.at.setdefault(note["text"], time.perf_counter())
        self.count += 1
        self.changed.set()
        return Response(status_code=204)

    async def wait(self, n: int, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while self.count < n:
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RuntimeError(f"only {self.count} of {n} deliveries arrived in {timeout:.0f} s")
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


def order_input(n: int) -> dict[str, Any]:
    now = SystemClock().now()
    return {
        "salesRequestRef": f"BENCH-WH-{n}-{time.time_ns()}",
        "customerId": "C-1",
        "customerName": "Bench Ltd",
        "priority": "NORMAL",
        "committedDate": now.replace(year=now.year + 1).isoformat(),
        "items": [{"productRef": "FIBRE-1", "quantity": 1}],
    }


async def gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def process_cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def deliver_process(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "deliver"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


async def backlog(
    http: httpx.AsyncClient, receipts: Receipts, url: str, *, webhooks: int, events: int, cpu: Any
) -> tuple[float, float]:
    """Deliveries per second draining ``events`` notes to each of ``webhooks`` webhooks, and the deliverer's CPU ms per delivery."""
    hooks = []
    for _ in range(webhooks):  # every webhook asks for every note: events × webhooks deliveries
        hook = (await gql(http, HOOK, {"input": {"url": url, "eventTypes": ["noteAdded"], "payloadFormat": "TMF"}}))[
            "createWebhook"
        ]["webhook"]["id"]
        await gql(http, PAUSE, {"id": hook, "p": True})
        hooks.append(hook)
    order = (await gql(http, ORDER, {"input": order_input(webhooks)}))["createCustomerOrder"]["id"]
    sem = asyncio.Semaphore(8)

    async def note(i: int) -> None:
        async with sem:
            await gql(http, NOTE, {"id": order, "t": f"backlog-{webhooks}-{i}-{time.time_ns()}"})

    await asyncio.gather(*(note(i) for i in range(events)))
    start_count = receipts.count
    started, cpu_before = time.perf_counter(), cpu()
    for hook in hooks:
        await gql(http, PAUSE, {"id": hook, "p": False})
    await receipts.wait(start_count + events * webhooks, timeout=1200)
    took, cpu_used = time.perf_counter() - started, cpu() - cpu_before
    for hook in hooks:
        await gql(http, "mutation($id: ID!) { deleteWebhook(id: $id) }", {"id": hook})
    return events * webhooks / took, cpu_used * 1000 / (events * webhooks)


async def steady(
    http: httpx.AsyncClient, receipts: Receipts, url: str, *, rate: float, seconds: float
) -> tuple[list[float], list[float]]:
    """Delays (ms) from each mutation's answer and from its sending to the delivery's arrival."""
    hook = (await gql(http, HOOK, {"input": {"url": url, "eventTypes": ["noteAdded"], "payloadFormat": "TMF"}}))["createWebhook"][
        "webhook"
    ]["id"]
    order = (await gql(http, ORDER, {"input": order_input(99)}))["createCustomerOrder"]["id"]
    sent: dict[str, tuple[float, float]] = {}
    count = int(rate * seconds)
    start_count = receipts.count
    began = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
        text = f"steady-{i}-{time.time_ns()}"
        before = time.perf_counter()
        await gql(http, NOTE, {"id": order, "t": text})
        sent[text] = (before, time.perf_counter())

    await asyncio.gather(*(one(i) for i in range(count)))
    await receipts.wait(start_count + count, timeout=120)
    await gql(http, "mutation($id: ID!) { deleteWebhook(id: $id) }", {"id": hook})
    from_answer = [(receipts.at[t] - answered) * 1000 for t, (_, answered) in sent.items()]
    from_send = [(receipts.at[t] - before) * 1000 for t, (before, _) in sent.items()]
    return from_answer, from_send


async def main(args: argparse.Namespace) -> list[str]:
    try:
        import app.webhooks.delivery  # noqa: F401  only whether this build has webhooks
    except ImportError as exc:
        raise NotReady("webhooks are not in this build") from exc
    receipts = Receipts()
    port = free_port()
    receiver = uvicorn_server.Server(
        uvicorn_server.Config(
            Starlette(routes=[Route("/hook", receipts.hook, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    serving = asyncio.create_task(receiver.serve())
    url = f"http://127.0.0.1:{port}/hook"
    rows: list[list[Any]] = []
    hooks_env = {
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WEBHOOK_POLL_INTERVAL_SECONDS": "1",
    }
    try:
        async with pg_schema("bench_hooks") as (db, schema):
            async with db.write_session() as session:
                token, _ = await create_token(session, name="bench-hooks", role=Role.STAFF, now=SystemClock().now())
                await session.commit()
            headers = {"Authorization": f"Bearer {token}"}
            env = app_env(db, schema, **hooks_env)
            base: float | None = None
            for where in ("app", "ordertrack deliver"):
                in_app = where == "app"
                app_env_here = {**env, "WEBHOOK_DELIVERY_ENABLED": "true" if in_app else "false"}
                with (
                    uvicorn("app.main:create_app", env=app_env_here, name="hooks") as server,
                    nullcontext() if in_app else deliver_process(env) as deliverer,
                ):
                    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as http:
                        cpu = server.cpu_seconds if deliverer is None else functools.partial(process_cpu_seconds, deliverer)
                        for webhooks in (1, args.webhooks):
                            rate, cpu_ms = await backlog(http, receipts, url, webhooks=webhooks, events=args.events, cpu=cpu)
                            base = base or rate
                            rows.append(
                                [
                                    where,
                                    webhooks,
                                    f"{args.events * webhooks:,}",
                                    f"{rate:,.0f}",
                                    f"{rate / base:.2f}×",
                                    f"{cpu_ms:.1f}",
                                    "",
                                    "",
                                ]
                            )
                            print(f"  {where}, {webhooks} webhooks: {rate:,.0f} deliveries/s", flush=True)
                        answer, send = await steady(http, receipts, url, rate=args.rate, seconds=args.seconds)
                        rows.append(
                            [
                                where,
                                1,
                                f"{len(answer):,} at {args.rate:g}/s",
                                "",
                                "",
                                "",
                                f"{statistics.median(answer):.1f} / {percentile(answer, 0.99):.1f}",
                                f"{statistics.median(send):.1f} / {percentile(send, 0.99):.1f}",
                            ]
                        )
                        print(
                            f"  {where}, steady {args.rate:g}/s: p99 {percentile(answer, 0.99):.1f} ms after the answer",
                            flush=True,
                        )
    finally:
        receiver.should_exit = True
        await serving
    title = (
        "Webhooks (PostgreSQL, TMF payloads, a local receiver answering 204): backlog drained after resuming paused webhooks, "
        "then a steady stream of notes through the API; delay from the mutation's answer (lower bound of commit→receipt) "
        "and from its sending (upper bound)"
    )
    return [
        table(
            title,
            [
                "deliverer",
                "webhooks",
                "deliveries",
                "deliveries/s",
                "vs 1 in app",
                "deliverer CPU ms/delivery",
                "delay p50 / p99 ms (from answer)",
                "p50 / p99 ms (from send)",
            ],
            rows,
        )
    ]


def add_arguments(p: argparse._ActionsContainer, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}events", type=int, default=2000, help="notes in the backlog")
    p.add_argument(f"--{prefix}webhooks", type=int, default=4, help="webhooks in the second backlog run (each gets every note)")
    p.add_argument(f"--{prefix}rate", type=float, default=50.0, help="notes per second in the steady run")
    p.add_argument(f"--{prefix}seconds", type=float, default=10.0, help="length of the steady run")


def quick(args: argparse.Namespace) -> None:
    args.events, args.webhooks, args.rate, args.seconds = 200, 2, 20.0, 3.0


__all__ = ["NotReady", "add_arguments", "main", "quick"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    for line in asyncio.run(main(parser.parse_args())):
        print(line)
