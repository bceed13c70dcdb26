"""The event log: one global, gap-free, commit-ordered sequence of everything that happened.

Events are appended inside the writing transaction (``UnitOfWork.record``) and numbered at commit
time under a row lock on ``event_sequence``, so sequence order is commit order and a reader that
has seen ``seq = n`` has seen every event up to ``n``. Subscriptions and the audit trail read here.
On PostgreSQL the numbering, the insert and the COMMIT go to the server as one message
(``commit_numbered``): the sequence row is locked only while the server works through it, not for a
round trip to this process and its turn on the event loop, which would let one busy process hold
every other writer up. The fast path of the usual progress report (``party_orders/quick_report.py``)
numbers its event inside its one autocommit statement, after its row locks, in the same way.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import Field, SQLModel, col

from app.columns import JSONType, UTCDateTime, as_loaded


class EventSequence(SQLModel, table=True):
    __tablename__ = "event_sequence"
    id: int = Field(default=1, primary_key=True)
    last: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_order_seq", "order_id", "seq"),
        Index("ix_event_party_order_seq", "party_order_id", "seq"),
        Index("ix_event_party_seq", "party_id", "seq"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    type: str = Field(max_length=64, nullable=False)
    entity: str = Field(max_length=32, nullable=False)
    entity_id: int = Field(nullable=False)
    order_id: int | None = Field(default=None)
    party_order_id: int | None = Field(default=None)
    party_id: int | None = Field(default=None)
    actor: str = Field(max_length=128, nullable=False)
    actor_role: str = Field(max_length=16, nullable=False)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType, nullable=False)


def jsonable(value: Any) -> Any:
    """Make a value storable in the JSON column (dates as ISO text, enums as their value)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that changed, as (before, after) JSON-ready dicts."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: jsonable(before.get(k)) for k in keys}, {k: jsonable(after.get(k)) for k in keys}


async def ensure_sequence_row(session: AsyncSession) -> None:
    if await session.get(EventSequence, 1) is None:
        session.add(EventSequence(id=1, last=0))
        await session.flush()


EVENT_TABLE = SQLModel.metadata.tables["event"]  # the Core table: events are appended without the ORM


async def flush_events(session: AsyncSession, pending: list[dict[str, Any]]) -> list[Event]:
    """Number and insert this transaction's events. Called last, just before commit."""
    if not pending:
        return []
    await session.flush()  # row changes first, so the sequence lock is held as briefly as possible
    result = await session.execute(
        update(EventSequence)
        .where(col(EventSequence.id) == 1)
        .values(last=col(EventSequence.last) + len(pending))
        .returning(col(EventSequence.last))
    )
    last = result.scalar_one()
    first = last - len(pending) + 1
    rows = [{**fields, "seq": first + offset, "data": jsonable(fields["data"])} for offset, fields in enumerate(pending)]
    # Append-only rows: one Core executemany, no ORM unit of work (a sweep may append thousands).
    await session.execute(insert(EVENT_TABLE), rows)
    return [as_loaded(Event, row) for row in rows]


# Numbers and inserts ``{count}`` events given as a JSON array of objects (``n`` counts from 1), keeps
# the last number in a session setting (the simple query protocol returns no rows), then commits and
# begins an empty transaction for the session that sent it to commit.
NUMBER_AND_COMMIT = """
WITH numbered AS (
    UPDATE event_sequence SET last = last + {count} WHERE id = 1 RETURNING last
), appended AS (
    INSERT INTO event (seq, at, type, entity, entity_id, order_id, party_order_id, party_id, actor, actor_role, data)
    SELECT numbered.last - {count} + r.n, r.at, r.type, r.entity, r.entity_id, r.order_id, r.party_order_id, r.party_id,
           r.actor, r.actor_role, r.data
    FROM numbered, jsonb_to_recordset({rows}::jsonb) AS r(
        n bigint, at timestamptz, type text, entity text, entity_id bigint, order_id bigint, party_order_id bigint,
        party_id bigint, actor text, actor_role text, data jsonb)
    RETURNING seq
)
SELECT set_config('ordertrack.last_seq', numbered.last::text, false), (SELECT count(*) FROM appended) FROM numbered;
COMMIT AND CHAIN
"""


def _dollar_quoted(text_: str) -> str:
    """``text_`` as a PostgreSQL dollar-quoted literal, with a tag it does not contain (no escaping needed)."""
    tag = "$ev$"
    while tag in text_:
        tag = f"$ev{secrets.token_hex(4)}$"
    return f"{tag}{text_}{tag}"


async def commit_numbered(session: AsyncSession, pending: list[dict[str, Any]]) -> list[Event]:
    """PostgreSQL (asyncpg): flush, then number, insert and commit this transaction's events in one
    message to the server, so the sequence lock is held only until the server has committed."""
    await session.flush()  # row changes first, as in ``flush_events``
    if not pending:
        await session.commit()
        return []
    rows = [{**fields, "data": jsonable(fields["data"])} for fields in pending]
    array = json.dumps([{**row, "at": row["at"].isoformat(), "n": n} for n, row in enumerate(rows, 1)], separators=(",", ":"))
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        # Nothing has run in this transaction yet (events but no row changes): the driver begins its
        # transaction with the first statement through SQLAlchemy, and COMMIT AND CHAIN needs one.
        await session.execute(text("SELECT 1"))
    await driver.execute(NUMBER_AND_COMMIT.format(count=len(rows), rows=_dollar_quoted(array)))
    last = int(await driver.fetchval("SELECT current_setting('ordertrack.last_seq')"))
    await session.commit()  # the empty transaction COMMIT AND CHAIN began
    first = last - len(rows) + 1
    return [as_loaded(Event, {**row, "seq": first + offset}) for offset, row in enumerate(rows)]


async def read_after(
    session: AsyncSession,
    after: int,
    *,
    order_id: int | None = None,
    party_order_id: int | None = None,
    party_id: int | None = None,
    limit: int = 500,
) -> list[Event]:
    """Events with ``seq > after``, oldest first, optionally for one order, party order or party."""
    query = select(Event).where(col(Event.seq) > after)
    if order_id is not None:
        query = query.where(col(Event.order_id) == order_id)
    if party_order_id is not None:
        query = query.where(col(Event.party_order_id) == party_order_id)
    if party_id is not None:
        query = query.where(col(Event.party_id) == party_id)
    rows = await session.execute(query.order_by(col(Event.seq)).limit(limit))
    return list(rows.scalars())


async def last_sequence(session: AsyncSession | AsyncConnection) -> int:
    row = await session.execute(text("SELECT last FROM event_sequence WHERE id = 1"))
    return int(row.scalar() or 0)


def event_payload(event: Event) -> dict[str, Any]:
    """The JSON form carried on the bus between processes."""
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "type": event.type,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "order_id": event.order_id,
        "party_order_id": event.party_order_id,
        "party_id": event.party_id,
        "actor": event.actor,
        "actor_role": event.actor_role,
        "data": event.data,
    }


def event_from_payload(payload: dict[str, Any]) -> Event:
    """The event a bus message carries (KeyError when a field is missing)."""
    values = {name: payload[name] for name in Event.model_fields}
    values["at"] = datetime.fromisoformat(values["at"])
    return as_loaded(Event, values)


__all__: Sequence[str] = [
    "Event",
    "EventSequence",
    "commit_numbered",
    "diff",
    "event_from_payload",
    "event_payload",
    "flush_events",
    "jsonable",
    "last_sequence",
    "read_after",
]
