"""The bus's own reads of the event log: where the log stands, and what came after a sequence number."""

from __future__ import annotations

from app.columns import as_loaded
from app.db import Database
from app.events import Event, last_sequence, read_after

LOG_PAGE = (
    "SELECT seq, at, type, entity, entity_id, order_id, party_order_id, party_id, actor, actor_role, data "
    "FROM event WHERE seq > $1 ORDER BY seq LIMIT $2"
)


async def read_log(db: Database, after: int, limit: int = 500) -> list[Event]:
    """Every event with ``seq > after``, oldest first: the bus's catch-up read, kept off the request path's books.

    On PostgreSQL one statement on a direct connection (no transaction, no pre-ping): the bus runs it
    for nearly every batch another process committed.
    """
    if db.direct_engine is None:
        async with db.read() as session:
            await session.connection(execution_options={"background": True})  # not counted as a request's SQL
            return await read_after(session, after, limit=limit)
    async with db.direct() as conn:
        rows = await conn.fetch(LOG_PAGE, after, limit)
    return [as_loaded(Event, dict(row)) for row in rows]


async def log_position(db: Database) -> int:
    """The last sequence number given out, read the way ``read_log`` reads (so the bus opens its connection early)."""
    if db.direct_engine is None:
        async with db.read() as session:
            return await last_sequence(session)
    async with db.direct() as conn:
        return int(await conn.fetchval("SELECT last FROM event_sequence WHERE id = 1") or 0)
