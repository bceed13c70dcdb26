"""A batch of rows stored at once (``db.upsert_rows``: on PostgreSQL one JSON document the server
unpacks) reads back exactly as given, inserted or updated, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.columns import table_of
from app.db import Database, upsert_rows
from app.forecast.models import OrderForecast
from app.orders.models import CustomerOrder

T0 = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)  # a forecast past what a datetime holds is stored as its last


async def orders(db: Database, count: int) -> list[int]:
    async with db.write_session() as session:
        made = [
            CustomerOrder(
                sales_request_ref=f"SR-UP-{n}",
                customer_id="C",
                customer_name="Upsert Ltd",
                priority="normal",
                state="inProgress",
                requested_at=T0,
                committed_date=T0,
                created_at=T0,
                updated_at=T0,
            )
            for n in range(count)
        ]
        session.add_all(made)
        await session.commit()
        return [o.id for o in made if o.id is not None]


def forecast(order_id: int, n: int, basis: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "completion_p50": None if n == 0 else T0 + timedelta(days=n, microseconds=n),
        "completion_p90": LAST if n == 1 else T0 + timedelta(days=2 * n),
        "on_time_probability": [0.1 + 0.2, 2.5e-7, 1 / 3, 0.0, 1.0][n % 5],
        "basis": basis,
        "critical_path": [{"kind": "partyOrder", "id": n, "name": 'Fibre "Co" ünïcode\'s $ev$ delivery'}],
        "party_orders": {str(n): {"p50": T0.isoformat(), "p90": None, "probability": 0.5}} if n % 2 else {},
        "computed_at": T0,
    }


async def stored(db: Database) -> dict[int, dict[str, Any]]:
    async with db.read() as session:
        rows = (await session.execute(select(table_of(OrderForecast)))).mappings().all()
    return {row["order_id"]: dict(row) for row in rows}


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_a_batch_of_forecasts_is_inserted_then_updated_exactly_as_given(db: Database) -> None:
    ids = await orders(db, 5)
    first = [forecast(oid, n, "plan: too few closed cases") for n, oid in enumerate(ids[:3])]
    async with db.write_session() as session:
        await upsert_rows(session, table_of(OrderForecast), first, "order_id", db.engine.dialect.name)
        await session.commit()
    assert await stored(db) == {row["order_id"]: row for row in first}

    # Two of them again, changed, and two new: the others are left as they were.
    second = [forecast(oid, n + 1, f"history for {n} of 3 open pieces of work") for n, oid in enumerate(ids[1:])]
    async with db.write_session() as session:
        await upsert_rows(session, table_of(OrderForecast), second, "order_id", db.engine.dialect.name)
        await session.commit()
    assert await stored(db) == {row["order_id"]: row for row in [first[0], *second]}


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_no_rows_store_nothing(db: Database) -> None:
    async with db.write_session() as session:
        await upsert_rows(session, table_of(OrderForecast), [], "order_id", db.engine.dialect.name)
        await session.commit()
    assert await stored(db) == {}
