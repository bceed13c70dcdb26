"""A fingerprint of the whole database, to show that a refused request changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import SQLModel

from app.db import Database


async def fingerprint(db: Database) -> dict[str, Any]:
    """Row count of every table plus the full content of the event sequence and order versions."""
    import app.models  # noqa: F401  registers every table

    out: dict[str, Any] = {}
    async with db.read() as session:
        for table in SQLModel.metadata.sorted_tables:
            out[table.name] = (await session.execute(select(func.count()).select_from(table))).scalar_one()
            if "version" in table.c:
                out[f"{table.name}.versions"] = (await session.execute(select(func.sum(table.c.version)))).scalar()
            if "state" in table.c:
                rows = await session.execute(select(table.c.state, func.count()).group_by(table.c.state))
                out[f"{table.name}.states"] = sorted(rows.all())
        out["last_event"] = (await session.execute(select(func.max(SQLModel.metadata.tables["event"].c.seq)))).scalar()
    return out
