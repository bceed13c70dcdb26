"""Twin PostgreSQL databases for differential tests: schemas with every table, filled from one template
schema (rows and id sequences), compared row by row, with the events each publishes collected."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel

from app.db import Database
from app.events import Event, event_payload
from tests.conftest import PG_URL


@contextlib.asynccontextmanager
async def twin_databases(db: Database, *suffixes: str) -> AsyncIterator[list[Database]]:
    """One more schema with every table beside ``db``'s per suffix, dropped afterwards."""
    assert db.schema is not None
    names = [f"{db.schema}_{suffix}" for suffix in suffixes]
    async with db.engine.begin() as conn:
        for name in names:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            await conn.execute(text(f'CREATE SCHEMA "{name}"'))
    made = [Database(PG_URL, schema=name, pool_size=2) for name in names]
    try:
        for each in made:
            await each.create_all()
        yield made
    finally:
        for each in made:
            await each.dispose()
        async with db.engine.begin() as conn:
            for name in names:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


async def copy_schema(template: str, into: Database) -> None:
    """Make ``into`` a copy of the template schema: every row, and every id sequence where it stood."""
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    async with into.write_session() as session:
        await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for table in tables:
            await session.execute(text(f'INSERT INTO "{into.schema}"."{table}" SELECT * FROM "{template}"."{table}"'))
        sequences = await session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = :s AND column_default LIKE 'nextval%'"
            ),
            {"s": template},
        )
        for table, column in list(sequences):
            source = (
                await session.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{template}"."{table}"', "c": column}
                )
            ).scalar_one()
            target = (
                await session.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{into.schema}"."{table}"', "c": column}
                )
            ).scalar_one()
            await session.execute(text(f"SELECT setval(:target, last_value, is_called) FROM {source}"), {"target": target})
        await session.commit()


async def every_row(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order."""
    out = {}
    async with db.read() as session:
        for table in SQLModel.metadata.sorted_tables:
            keys = ", ".join(c.name for c in table.primary_key.columns)
            out[table.name] = [tuple(r) for r in await session.execute(text(f'SELECT * FROM "{table.name}" ORDER BY {keys}'))]
    return out


def row_differences(a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Per table that differs: the rows only ``a`` has and the rows only ``b`` has."""
    return {t: (sorted(set(a[t]) - set(b[t]), key=repr), sorted(set(b[t]) - set(a[t]), key=repr)) for t in a if a[t] != b[t]}


def collect_published(into: list[dict[str, Any]]) -> Callable[[Sequence[Event]], Awaitable[None]]:
    """A publisher that keeps what it is handed, as the bus carries it."""

    async def remember(events: Sequence[Event]) -> None:
        into.extend(event_payload(e) for e in events)

    return remember
