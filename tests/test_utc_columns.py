"""Every instant a table stores reads back as the aware UTC datetime written, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from app.columns import table_of
from app.db import Database
from app.events import Event

IN_ANOTHER_ZONE = datetime(2026, 12, 2, 15, 30, 45, 123456, tzinfo=timezone(timedelta(hours=5)))
LAST = datetime.max.replace(tzinfo=timezone.utc)  # asyncpg sends it as infinity, and reads infinity back naive


@pytest.mark.parametrize("written", [IN_ANOTHER_ZONE, LAST], ids=["another zone", "the last instant"])
async def test_an_instant_reads_back_in_utc_whatever_the_sessions_time_zone(db: Database, written: datetime) -> None:
    e = table_of(Event)
    async with db.write_session() as session:
        await session.execute(
            e.insert().values(
                seq=1, at=written, type="noted", entity="order", entity_id=1, actor="a", actor_role="staff", data={}
            )
        )
        await session.commit()
    async with db.read() as session:
        if not db.is_sqlite:  # the server would render it in this zone: the driver still decodes UTC
            await session.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        read = (await session.execute(select(e.c.at))).scalar_one()
    assert read == written
    assert read.tzinfo is timezone.utc
