"""PostgreSQL goes away for a moment: requests fail cleanly with UNAVAILABLE, /readyz says so, and the
service recovers on its own when the database is back, with nothing half-written."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from app.audit import audit
from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database, UnitOfWork
from app.main import create_app
from app.orders.models import OrderNote
from tests.api import Api
from tests.conftest import PG_URL, empty_postgres, issue_token, require_service
from tests.factories import create_order
from tests.live import wait_until
from tests.security_helpers import log_position
from tests.tcp_proxy import TcpProxy

NOTE = "mutation($id: ID!, $t: String!) { addOrderNote(orderId: $id, text: $t) { id } }"
LIST = "{ customerOrders(first: 5) { edges { node { id notes { text } } } } }"


@pytest.fixture
async def proxied(pg_schema: str) -> AsyncIterator[tuple[TcpProxy, Database]]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    url = PG_URL.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    db = Database(url, schema=pg_schema, pool_size=3, connect_timeout=1.0)
    await empty_postgres(db)
    yield proxy, db
    await proxy.restore()
    await db.dispose()
    await proxy.close()


async def until_ok(api: Api, query: str, variables: dict | None = None, seconds: float = 10.0) -> dict:
    """Retry as a client would (every 0.2 s), until the service answers without error."""
    answers: list[dict] = []

    async def answered() -> bool:
        body = await api.send(query, variables)
        assert not body.get("errors") or body["errors"][0]["extensions"]["code"] == "UNAVAILABLE", body
        answers.append(body)
        return not body.get("errors")

    await wait_until(answered, timeout=seconds, interval=0.2, what="the service to answer without error")
    return answers[-1]["data"]


@pytest.mark.parametrize("failure", ["cut", "stall"])
async def test_a_database_outage_is_unavailable_then_heals_by_itself(
    failure: str, proxied: tuple[TcpProxy, Database], clock: FrozenClock
) -> None:
    proxy, db = proxied
    # No token cache: every request must reach the database, so each one shows the outage.
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, token_cache_seconds=0, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    token = await issue_token(db, clock, Role.STAFF, "outage.staff")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ordertrack.test", timeout=30) as http,
    ):
        staff = Api(http, token)
        order = await create_order(staff, clock.now())
        assert (await http.get("/readyz")).status_code == 200
        before = await log_position(db)

        await (proxy.cut() if failure == "cut" else proxy.stall())
        started = time.monotonic()
        for query, variables in [(NOTE, {"id": order["id"], "t": "during the outage"}), (LIST, None), ("{ me { name } }", None)]:
            body = await staff.send(query, variables)
            error = body["errors"][0]
            assert error["extensions"]["code"] == "UNAVAILABLE", body
            assert "retry" in error["message"]
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert time.monotonic() - started < 20  # fails fast, does not hang on the dead connection

        await proxy.restore()
        await until_ok(staff, "{ me { name } }")
        assert (await http.get("/readyz")).status_code == 200
        await until_ok(staff, NOTE, {"id": order["id"], "t": "after the outage"})
        notes = (await staff.ok(LIST))["customerOrders"]["edges"][0]["node"]["notes"]
        assert [n["text"] for n in notes] == ["after the outage"]  # the failed write left nothing behind
        assert (await log_position(db))[0] == before[0] + 1
        report = await audit(db)
        assert report.ok, report.problems


async def test_a_connection_lost_in_the_middle_of_a_write_commits_nothing(
    proxied: tuple[TcpProxy, Database], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.orders import service

    proxy, db = proxied
    # No token cache: every request must reach the database, so each one shows the outage.
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, token_cache_seconds=0, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    token = await issue_token(db, clock, Role.STAFF, "outage.staff")
    real_add_note = service.add_note

    async def add_note_then_lose_the_database(uow: UnitOfWork, order_id: int, text: str) -> OrderNote:
        note = await real_add_note(uow, order_id, text)  # the row is written (flushed), not yet committed
        await proxy.cut()
        return note

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ordertrack.test", timeout=30) as http,
    ):
        staff = Api(http, token)
        order = await create_order(staff, clock.now())
        before = await log_position(db)
        monkeypatch.setattr(service, "add_note", add_note_then_lose_the_database)
        body = await staff.send(NOTE, {"id": order["id"], "t": "half written"})
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE", body
        monkeypatch.setattr(service, "add_note", real_add_note)
        await proxy.restore()
        await until_ok(staff, "{ me { name } }")
        notes = (await staff.ok(LIST))["customerOrders"]["edges"][0]["node"]["notes"]
        assert notes == []
        assert await log_position(db) == before
        assert (await audit(db)).ok
