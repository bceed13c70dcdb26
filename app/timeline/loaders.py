"""The DataLoader of the names timeline sentences need (one read per batch of events)."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from app.db import Database
from app.timeline.subjects import Subject, load_names


def subject_names(db: Database) -> DataLoader[Subject, str | None]:
    """Subject -> its name (None when it no longer exists)."""

    async def load(keys: Sequence[Subject]) -> list[str | None]:
        async with db.read() as session:
            names = await load_names(session, keys)
        return [names.get(k) for k in keys]

    return DataLoader(load)
