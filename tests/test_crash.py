"""kill -9 the server under a steady stream of mutations on PostgreSQL, restart it: every acknowledged
mutation is there, the event log has no gap, and a subscriber that resumes from its last cursor gets
every event of the order exactly once. (Broker loss, Redis killed during fan-out, is tested with the
realtime subscriptions.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlmodel import col

from app.audit import audit
from app.auth import Role, create_token
from app.clock import SystemClock
from app.db import Database
from app.events import Event
from app.orders.models import OrderNote
from app.orders.queries import event_cursor
from tests.conftest import PG_URL, require_service
from tests.factories import CREATE, order_input
from tests.launcher import ServiceProcess
from tests.live import Subscriber, wait_until

NOTE = "mutation($id: ID!, $t: String!) { addOrderNote(orderId: $id, text: $t) { id text } }"
FOLLOW = "subscription($id: ID!, $after: String) { orderEvents(orderId: $id, after: $after) { sequence cursor type } }"


@pytest.fixture
async def fresh_pg() -> AsyncIterator[tuple[Database, str]]:
    """A PostgreSQL schema of its own (the server process shares it with the test)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    schema = f"ot_crash_{uuid.uuid4().hex[:8]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(PG_URL, schema=schema, pool_size=2)
    await db.create_all()
    yield db, schema
    await db.dispose()
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await admin.dispose()


async def test_acknowledged_mutations_survive_a_kill_9(fresh_pg: tuple[Database, str], tmp_path: Path) -> None:
    db, schema = fresh_pg
    async with db.write_session() as session:
        token, _ = await create_token(session, name="crash.staff", role=Role.STAFF, now=SystemClock().now())
        await session.commit()
    server = ServiceProcess(
        {"DATABASE_URL": PG_URL, "DATABASE_SCHEMA": schema, "DB_POOL_SIZE": "4", "MONITOR_ENABLED": "false"},
        log_path=tmp_path / "server.log",
    )
    await asyncio.to_thread(server.start)
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged: list[dict[str, str]] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
            created = (
                await http.post("/graphql", json={"query": CREATE, "variables": {"input": order_input(SystemClock().now())}})
            ).json()
            order_id = created["data"]["createCustomerOrder"]["id"]
            address = server.url.removeprefix("http://")
            before_crash = await Subscriber(address, token, FOLLOW, {"id": order_id, "after": event_cursor(0)}).start()
            stop = asyncio.Event()

            async def writer(n: int) -> None:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        r = await http.post("/graphql", json={"query": NOTE, "variables": {"id": order_id, "t": f"w{n}-{i}"}})
                    except httpx.HTTPError:
                        return  # the server died under us: this one was never acknowledged
                    body = r.json()
                    if body.get("data") and body["data"].get("addOrderNote"):
                        acknowledged.append(body["data"]["addOrderNote"])
                        if len(acknowledged) >= 40:
                            enough.set()

            enough = asyncio.Event()
            writers = [asyncio.create_task(writer(n)) for n in range(4)]
            await asyncio.wait_for(enough.wait(), timeout=60)  # 40 acknowledged writes, or the test fails here
            server.kill()  # mid-stream: several writes are in flight right now
            stop.set()
            await asyncio.gather(*writers)
            await wait_until(before_crash.ended.is_set, timeout=15, what="the subscriber to see the server die")
            await before_crash.close()
        assert len(acknowledged) >= 40
        assert before_crash.events, "the subscriber saw events before the crash"

        await asyncio.to_thread(server.start)  # the same database, a new process
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
            q = "query($id: ID!) { customerOrder(id: $id) { notes { id text } } }"
            notes = (await http.post("/graphql", json={"query": q, "variables": {"id": order_id}})).json()["data"][
                "customerOrder"
            ]["notes"]
            resumed = await Subscriber(address, token, FOLLOW, {"id": order_id, "after": before_crash.last_cursor}).start()
            try:
                after_restart = await http.post(
                    "/graphql", json={"query": NOTE, "variables": {"id": order_id, "t": "after restart"}}
                )
                assert after_restart.json()["data"]["addOrderNote"]["text"] == "after restart"
                async with db.read() as session:
                    wanted = list(
                        (
                            await session.execute(
                                select(col(Event.seq)).where(col(Event.order_id) == int(order_id)).order_by(col(Event.seq))
                            )
                        ).scalars()
                    )
                await resumed.wait_for(len(wanted) - len(before_crash.events), timeout=30)
            finally:
                await resumed.close()
    finally:
        server.stop()
    seen = before_crash.sequences + resumed.sequences
    assert seen == wanted, "every event of the order exactly once, in order, across the crash"

    stored = {(n["id"], n["text"]) for n in notes}
    missing = [a for a in acknowledged if (a["id"], a["text"]) not in stored]
    assert not missing, f"acknowledged but lost: {missing}"
    async with db.read() as session:
        note_ids = set((await session.execute(select(col(OrderNote.id)))).scalars())
        logged = set((await session.execute(select(col(Event.entity_id)).where(col(Event.type) == "noteAdded"))).scalars())
    assert note_ids == logged, "every stored note has its event and every event its note"
    report = await audit(db)
    assert report.ok, report.problems
    assert report.events == report.last_seq
