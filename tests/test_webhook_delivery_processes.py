"""Webhook delivery across real server processes on PostgreSQL: a `kill -9` in the middle of a delivery
resumes from the cursor with the same webhook-id; two app processes deliver each event once, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from app.auth import Role, create_token
from app.clock import SystemClock
from app.db import Database
from app.events import Event
from app.webhooks.models import Webhook, WebhookDelivery
from tests.conftest import PG_URL
from tests.factories import CREATE, order_input
from tests.launcher import ServiceProcess
from tests.test_crash import fresh_pg  # noqa: F401  the fixture: a PostgreSQL schema of its own
from tests.webhook_receiver import Receiver
from tests.webhooks import CREATE_WEBHOOK

NOTE = "mutation($id: ID!, $t: String!) { addOrderNote(orderId: $id, text: $t) { id } }"


def delivering(schema: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": PG_URL,
        "DATABASE_SCHEMA": schema,
        "DB_POOL_SIZE": "4",
        "WEBHOOK_DELIVERY_ENABLED": "true",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WEBHOOK_BACKOFF_BASE_SECONDS": "0.05",
        "WEBHOOK_BACKOFF_CAP_SECONDS": "0.2",
        "WEBHOOK_POLL_INTERVAL_SECONDS": "0.2",
        "BUS_POLL_INTERVAL_SECONDS": "0.2",
        "MONITOR_ENABLED": "false",
        **extra,
    }


async def staff_token(db: Database) -> str:
    async with db.write_session() as session:
        token, _ = await create_token(session, name="hooks.staff", role=Role.STAFF, now=SystemClock().now())
        await session.commit()
    return token


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, object]) -> dict[str, Any]:
    body = (await http.post("/graphql", json={"query": query, "variables": variables})).json()
    assert not body.get("errors"), body
    return body["data"]


async def test_a_kill_9_mid_delivery_resumes_from_the_cursor_with_the_same_webhook_id(
    fresh_pg: tuple[Database, str],  # noqa: F811  the fixture imported above, named by the parameter
    tmp_path: Path,
) -> None:
    db, schema = fresh_pg
    headers = {"Authorization": f"Bearer {await staff_token(db)}"}
    receiver = await Receiver().start()
    receiver.hold = asyncio.Event()  # the first request hangs: the service dies while it waits for the answer
    server = ServiceProcess(delivering(schema, WEBHOOK_READ_TIMEOUT_SECONDS="60"), log_path=tmp_path / "server.log")
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
            made = await post(
                http, CREATE_WEBHOOK, {"input": {"url": receiver.url, "eventTypes": ["noteAdded"], "payloadFormat": "THIN"}}
            )
            hook_id = int(made["createWebhook"]["webhook"]["id"])
            order = await post(http, CREATE, {"input": order_input(SystemClock().now())})
            order_id = order["createCustomerOrder"]["id"]
            for i in range(5):
                await post(http, NOTE, {"id": order_id, "t": f"note {i}"})
        await receiver.wait_for(lambda r: len(r.requests) == 1, what="the first delivery to be in flight")
        in_flight = receiver.requests[0].message_id
        server.kill()
        before = len(receiver.requests)
        receiver.hold.set()  # the answer now goes to a dead socket
        receiver.hold = None
        await asyncio.to_thread(server.start)  # the same database, a new process
        await receiver.wait_for(
            lambda r: len({x.message_id for x in r.requests[before:] if x.status == 200}) == 5,
            what="all five notes after the restart",
        )
    finally:
        server.close()
        await receiver.stop()
    after = receiver.requests[before:]
    assert after[0].message_id == in_flight, "the interrupted delivery is repeated first, with the same webhook-id"
    sequences = [x.json["sequence"] for x in after]
    assert sequences == sorted(sequences) and len(set(sequences)) == 5, "then every note, in log order, once"
    async with db.read() as session:
        wanted = list(
            (
                await session.execute(select(col(Event.seq)).where(col(Event.type) == "noteAdded").order_by(col(Event.seq)))
            ).scalars()
        )
        hook = await session.get(Webhook, hook_id)
        states = list(
            (
                await session.execute(select(col(WebhookDelivery.state)).where(col(WebhookDelivery.webhook_id) == hook_id))
            ).scalars()
        )
    assert sequences == wanted
    assert hook is not None and hook.cursor == wanted[-1] and states == ["delivered"] * 5


async def test_two_app_processes_deliver_each_event_once_and_in_order(fresh_pg: tuple[Database, str], tmp_path: Path) -> None:  # noqa: F811  the fixture imported above, named by the parameter
    db, schema = fresh_pg
    headers = {"Authorization": f"Bearer {await staff_token(db)}"}
    receiver = await Receiver().start()
    servers = [ServiceProcess(delivering(schema), log_path=tmp_path / f"server{n}.log") for n in (1, 2)]
    await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))
    total = 60
    try:
        clients = [httpx.AsyncClient(base_url=s.url, headers=headers, timeout=10) for s in servers]
        made = await post(
            clients[0], CREATE_WEBHOOK, {"input": {"url": receiver.url, "eventTypes": ["noteAdded"], "payloadFormat": "TMF"}}
        )
        secret = made["createWebhook"]["secret"]
        order = await post(clients[1], CREATE, {"input": order_input(SystemClock().now())})
        order_id = order["createCustomerOrder"]["id"]

        async def writer(n: int) -> None:
            for i in range(total // 2):
                await post(clients[n], NOTE, {"id": order_id, "t": f"p{n}-{i}"})

        await asyncio.gather(writer(0), writer(1))  # both processes write and both deliver
        await receiver.wait_delivered(total, timeout=60)
        for client in clients:
            await client.aclose()
    finally:
        for s in servers:
            s.close()
        await receiver.stop()
    ids = [r.message_id for r in receiver.requests]
    assert len(ids) == len(set(ids)) == total, "one delivery per event and webhook, none twice"
    sequences = [r.verified(secret)["sequence"] for r in receiver.requests]
    assert sequences == sorted(sequences), "in log order across both processes"


async def test_ordertrack_deliver_delivers_on_its_own(fresh_pg: tuple[Database, str], tmp_path: Path) -> None:  # noqa: F811  the fixture imported above, named by the parameter
    """The command (no app process): it finds the webhook and the events in the database, and stops cleanly."""
    import os
    import signal
    import subprocess
    import sys

    from app.auth import SYSTEM
    from app.webhooks.signing import new_secret
    from tests.launcher import ROOT

    db, schema = fresh_pg
    receiver = await Receiver().start()
    now = SystemClock().now()
    async with db.write_session() as session:
        session.add(
            Webhook(
                url=receiver.url,
                event_types=["noteAdded"],
                payload_format="THIN",
                owner_role="staff",
                created_by="test",
                secret=new_secret(),
                cursor=0,
                created_at=now,
                updated_at=now,
            )
        )
        await session.commit()
    for n in range(3):
        async with db.write(SYSTEM, now) as uow:
            uow.record("noteAdded", entity="note", entity_id=n + 1, order_id=1, after={"text": f"t{n}"})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "deliver",
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT), **delivering(schema)},
    )
    try:
        got = await receiver.wait_delivered(3, timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 15)
        errors = (await process.stderr.read()).decode() if process.stderr else ""
        await receiver.stop()
    assert [r.json["event"]["id"] for r in got] == ["1", "2", "3"]
    assert code == 0, errors
