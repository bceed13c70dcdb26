"""The Alembic migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import app.models  # noqa: F401  registers every table
from app import migrate
from app.db import Database
from tests.conftest import PG_URL, require_service


async def _differences(db: Database) -> list[object]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), SQLModel.metadata)
        )


async def test_migrations_match_the_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/migrated.db"
    migrate.upgrade(url)
    db = Database(url)
    try:
        assert await _differences(db) == []
        async with db.read() as session:
            assert (await session.execute(text("SELECT last FROM event_sequence WHERE id = 1"))).scalar() == 0
    finally:
        await db.dispose()


async def test_migrations_match_the_models_on_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    schema = f"ot_mig_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(PG_URL, schema=schema)
    try:
        migrate.upgrade(PG_URL, schema)
        assert await _differences(db) == []
    finally:
        await db.dispose()
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def test_migrations_downgrade_cleanly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/down.db"
    migrate.upgrade(url)
    from alembic import command

    migrate.in_thread(command.downgrade, migrate.alembic_config(url), "base")
    db = Database(url)
    try:
        async with db.read() as session:
            tables = (await session.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))).scalars().all()
        assert set(tables) <= {"alembic_version"}
    finally:
        await db.dispose()
