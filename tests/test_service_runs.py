"""The service answers health checks, the CLI issues tokens and loads demo data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from app import cli
from app.auth import Role
from app.clock import FrozenClock, SystemClock
from app.config import Settings
from app.db import Database
from app.demo import load_demo
from app.main import create_app
from tests.conftest import issue_token


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_readiness_fails_when_the_database_is_unreachable() -> None:
    settings = Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none", _env_file=None)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        ready = await client.get("/readyz")
        alive = await client.get("/healthz")
    assert (ready.status_code, ready.json()["status"]) == (503, "database unreachable")
    assert alive.status_code == 200


async def test_demo_data_has_orders_in_varied_states(db: Database) -> None:
    app = create_app(Settings(_env_file=None), db=db)  # wires the reconciliation into db
    ids = await load_demo(db, SystemClock(), count=12, history=2)
    assert len(ids) == 12
    token = await issue_token(db, FrozenClock(), Role.VIEWER, "demo-check")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        body = (
            await client.post(
                "/graphql",
                json={"query": "{ customerOrders(first: 50) { edges { node { state activities { id } } } } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
    states = {e["node"]["state"] for e in body["data"]["customerOrders"]["edges"]}
    assert {"ACKNOWLEDGED", "IN_PROGRESS", "HELD", "COMPLETED", "CANCELLED"} <= states


def test_the_cli_migrates_and_issues_a_token_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    cli.get_settings.cache_clear()
    try:
        cli.main(["migrate"])
        cli.main(["create-token", "--name", "ops", "--role", "viewer"])
    finally:
        cli.get_settings.cache_clear()
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("otk_")

    async def ask() -> dict:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/cli.db")
        app = create_app(Settings(_env_file=None), db=db)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.post(
                "/graphql", json={"query": "{ me { name role } }"}, headers={"Authorization": f"Bearer {token}"}
            )
        await db.dispose()
        return response.json()

    assert asyncio.run(ask()) == {"data": {"me": {"name": "ops", "role": "viewer"}}}
