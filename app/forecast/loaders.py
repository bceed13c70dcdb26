"""DataLoaders of the forecast domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from app.db import Database
from app.forecast.models import OrderForecast


def forecasts_by_order(db: Database) -> DataLoader[int, OrderForecast | None]:
    async def load(keys: Sequence[int]) -> list[OrderForecast | None]:
        async with db.read() as session:
            rows = await session.execute(select(OrderForecast).where(OrderForecast.order_id.in_(keys)))  # type: ignore[attr-defined]
            found = {row.order_id: row for row in rows.scalars()}
        return [found.get(k) for k in keys]

    return DataLoader(load)
