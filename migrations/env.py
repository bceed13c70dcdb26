"""Alembic environment: migrates the database named by the settings (or by the caller)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import app.models  # noqa: F401  registers every table
from app.config import Settings
from app.db import Database

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    settings = Settings()
    url = config.attributes.get("url") or settings.database_url
    schema = config.attributes.get("schema", settings.database_schema)
    db = Database(url, schema=schema, pool_size=1)
    try:
        async with db.write_engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await db.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run them against a database.")
asyncio.run(_run_online())
