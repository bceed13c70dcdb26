"""Helpers for the security and failure tests: apps with other settings, tokens per role, DB snapshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.events import Event, last_sequence
from app.main import create_app
from tests.api import Api


@asynccontextmanager
async def client_for(db: Database, clock: FrozenClock, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An app over ``db`` with some settings changed, and an HTTP client talking to it."""
    settings = Settings(database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, _env_file=None, **overrides)
    application = create_app(settings, db=db, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://ordertrack.test") as http:
            yield http


async def log_position(db: Database) -> tuple[int, int]:
    """(last sequence number, number of events): unchanged means nothing was written."""
    async with db.read() as session:
        count = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
        return await last_sequence(session), int(count)


async def post(api: Api, body: Any, **headers: str) -> httpx.Response:
    """Send any JSON body (or raw bytes) as the api's principal."""
    h = {"Authorization": f"Bearer {api.token}"} if api.token else {}
    h.update(headers)
    if isinstance(body, (bytes, str)):
        return await api.http.post("/graphql", content=body, headers={"content-type": "application/json", **h})
    return await api.http.post("/graphql", json=body, headers=h)
