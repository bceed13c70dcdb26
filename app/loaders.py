"""Building blocks for DataLoaders: one query per batch, each batch in its own short read session."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from app.db import Database

M = TypeVar("M")


def by_id(db: Database, model: type[M]) -> DataLoader[int, M | None]:
    """Rows by primary key; a missing key loads as None."""

    async def load(keys: Sequence[int]) -> list[M | None]:
        async with db.read() as session:
            rows = await session.execute(select(model).where(model.id.in_(keys)))  # type: ignore[attr-defined]  # M: a table with an id
            found = {row.id: row for row in rows.scalars()}  # type: ignore[attr-defined]  # M: a table with an id
        return [found.get(k) for k in keys]

    return DataLoader(load)


def grouped(
    db: Database, model: type[M], column: Any, *, order_by: Sequence[Any] = (), where: Sequence[Any] = ()
) -> DataLoader[int, list[M]]:
    """Rows grouped by a foreign key column (``order_id``...), in ``order_by`` order."""

    async def load(keys: Sequence[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = defaultdict(list)
        async with db.read() as session:
            query = select(model).where(column.in_(keys), *where).order_by(*order_by)
            for row in (await session.execute(query)).scalars():
                groups[getattr(row, column.key)].append(row)
        return [groups.get(k, []) for k in keys]

    return DataLoader(load)
