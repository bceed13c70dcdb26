"""A real PostgreSQL server restarts while staff keep writing: while it shuts down, starts up or
recovers, requests answer UNAVAILABLE (never INTERNAL, nothing logged as an error), every write the
service acknowledged is kept, and the service is back by itself, without a restart of its own."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.audit import audit
from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from app.orders.models import OrderNote
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order
from tests.live import wait_until
from tests.private_postgres import PrivatePostgres

NOTE = "mutation($id: ID!, $t: String!) { addOrderNote(orderId: $id, text: $t) { id } }"
WRITERS = 4


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def db(cluster: PrivatePostgres) -> AsyncIterator[Database]:
    database = Database(cluster.url, pool_size=4, connect_timeout=2.0)
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  every table

    async with database.engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
    await database.create_all()
    yield database
    await database.dispose()


class Writers:
    """Staff adding notes as fast as they are answered; what was acknowledged, and every error code."""

    def __init__(self, staff: Api, order_id: str) -> None:
        self.staff, self.order_id = staff, order_id
        self.acknowledged: list[str] = []
        self.codes: list[str] = []
        self.stop = asyncio.Event()

    async def write(self, writer: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            text = f"writer {writer} note {n}"
            body = await self.staff.send(NOTE, {"id": self.order_id, "t": text})
            if body.get("errors"):
                self.codes.extend(e["extensions"]["code"] for e in body["errors"])
                await asyncio.sleep(0.05)  # a client's back-off before it retries
            else:
                self.acknowledged.append(text)

    async def read(self) -> None:
        while not self.stop.is_set():  # the token lookup before GraphQL runs, on every request
            body = await self.staff.send("{ me { name } }")
            self.codes.extend(e["extensions"]["code"] for e in body.get("errors") or [])
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_postgresql_restart_under_writes_answers_unavailable_and_loses_nothing(
    mode: str, cluster: PrivatePostgres, db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=cluster.url,
        token_cache_seconds=0,
        monitor_enabled=True,
        monitor_interval_seconds=0.2,
        bus_poll_interval_seconds=0.2,
        _env_file=None,
    )
    app = create_app(settings, db=db, clock=clock)
    token = await issue_token(db, clock, Role.STAFF, "restart.staff")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ordertrack.test", timeout=30) as http,
    ):
        staff = Api(http, token)
        order = await create_order(staff, clock.now())
        writers = Writers(staff, order["id"])
        with caplog.at_level(logging.WARNING):
            tasks = [asyncio.create_task(writers.write(i)) for i in range(WRITERS)] + [asyncio.create_task(writers.read())]
            try:
                await wait_until(lambda: len(writers.acknowledged) >= 20, timeout=20, what="writes before the restart")
                await asyncio.to_thread(cluster.restart, mode)
                restarted, at = len(writers.acknowledged), time.monotonic()
                await wait_until(lambda: len(writers.acknowledged) >= restarted + 20, timeout=30, what="writes after the restart")
                recovered_in = time.monotonic() - at
            finally:
                writers.stop.set()
                await asyncio.gather(*tasks)
        assert set(writers.codes) <= {"UNAVAILABLE"}, writers.codes
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, [r.getMessage() for r in errors]
        async with db.read() as session:
            stored = set((await session.execute(select(col(OrderNote.text)))).scalars())
        lost = [t for t in writers.acknowledged if t not in stored]
        assert not lost, f"{len(lost)} acknowledged writes lost: {lost[:5]}"
        report = await audit(db)
        assert report.ok, report.problems
        assert recovered_in < 30
