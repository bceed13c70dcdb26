"""Fixtures: a fresh database per test (SQLite file and PostgreSQL), a frozen clock, an API client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel
from starlette.applications import Starlette

from app.auth import Role, create_token
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.events import ensure_sequence_row
from app.graphql.direct_lane import DirectLane
from app.jeopardy.policy import Policy, load_policy
from app.main import create_app
from tests.api import Api

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
START = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a local service is missing, but never on CI: there it must be running."""
    if reachable(host, port):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{name} at {host}:{port} is not running, and CI must test against it.")
    pytest.skip(f"{name} at {host}:{port} is not running (this skip is refused when CI is set).")


def run_in_own_loop(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine on a loop of its own (session fixtures may be set up inside a test's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(make())).result()


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """One PostgreSQL schema for this test run, tables created once; each test empties them."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    schema = f"ot_test_{uuid.uuid4().hex[:10]}"

    async def setup() -> None:
        import app.models  # noqa: F401  registers every table

        db = Database(PG_URL, schema=schema)
        async with db.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await db.dispose()
        db = Database(PG_URL, schema=schema)
        await db.create_all()
        await db.dispose()

    async def teardown() -> None:
        db = Database(PG_URL)
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await db.dispose()

    run_in_own_loop(setup)
    yield schema
    run_in_own_loop(teardown)


async def empty_postgres(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    async with db.write_session() as session:
        await ensure_sequence_row(session)
        await session.commit()


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path}/ordertrack.db")
        await database.create_all()
    else:
        schema = request.getfixturevalue("pg_schema")
        database = Database(PG_URL, schema=schema, pool_size=5)
        await empty_postgres(database)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite:///unused.db",
        monitor_enabled=False,
        _env_file=None,
        webhook_allowed_hosts="127.0.0.1",
        webhook_allow_private_networks=True,  # webhooks to local test receivers
    )


@pytest.fixture
def escalation_policy() -> Policy:
    """The escalation policy the test's app runs under: the shipped one (a test module may override it)."""
    return load_policy()


@pytest.fixture
async def app(db: Database, clock: FrozenClock, settings: Settings, escalation_policy: Policy) -> AsyncIterator[Starlette]:
    application = create_app(settings, db=db, clock=clock, policy=escalation_policy)
    async with application.router.lifespan_context(application):
        yield application


RestartUnder = Callable[[Policy], Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.fixture
async def restart_under(db: Database, clock: FrozenClock, settings: Settings) -> AsyncIterator[RestartUnder]:
    """The service started again on the same data under another policy file, as a new process would be
    (its own Database object: the policy is fixed for the life of an app and its database)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(policy: Policy) -> httpx.AsyncClient:
            again = Database(db.url, schema=db.schema, pool_size=3)
            stack.push_async_callback(again.dispose)
            application = create_app(settings, db=again, clock=clock, policy=policy)
            await stack.enter_async_context(application.router.lifespan_context(application))
            transport = httpx.ASGITransport(app=application)
            return await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://ordertrack.test"))

        yield start


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ordertrack.test") as client:
        yield client


async def issue_token(db: Database, clock: FrozenClock, role: Role, name: str, party_id: int | None = None) -> str:
    async with db.write_session() as session:
        plain, _ = await create_token(session, name=name, role=role, now=clock.now(), party_id=party_id)
        await session.commit()
    return plain


@pytest.fixture
async def staff(http: httpx.AsyncClient, db: Database, clock: FrozenClock) -> Api:
    """The API as enterprise sales order staff."""
    return Api(http, await issue_token(db, clock, Role.STAFF, "sam.staff"))


@pytest.fixture
async def viewer(http: httpx.AsyncClient, db: Database, clock: FrozenClock) -> Api:
    """The API as a read-only dashboard."""
    return Api(http, await issue_token(db, clock, Role.VIEWER, "dash.viewer"))


@pytest.fixture
def anonymous(http: httpx.AsyncClient) -> Api:
    return Api(http, None)


@pytest.fixture
def lane(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the direct lane (``app/graphql/direct_lane.py``) answered each operation it was offered."""
    answered: list[bool] = []
    execute = DirectLane.execute

    async def spy(self: DirectLane, method: str, request_data: Any, context: Any) -> Any:
        answer = await execute(self, method, request_data, context)
        answered.append(answer is not None)
        return answer

    monkeypatch.setattr(DirectLane, "execute", spy)
    return answered
