"""The database: async engines, read sessions and the one write transaction helper."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    BigInteger,
    Table,
    any_,
    bindparam,
    event,
    func,
    inspect as sa_inspect,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ColumnElement
from sqlmodel import SQLModel

# Re-exported for code that still imports them from here; models import app.columns (no cycle).
from app.calendars.book import CalendarBook
from app.columns import JSONType as JSONType, UTCDateTime as UTCDateTime, as_loaded as as_loaded
from app.errors import DomainError, Unavailable
from app.event_visibility import require_declared
from app.events import Event, commit_numbered, ensure_sequence_row, flush_events
from app.outages import MESSAGE as OUTAGE_MESSAGE, is_outage
from app.turns import Turns, WritesInFlight

if TYPE_CHECKING:
    from app.auth import Actor

log = logging.getLogger(__name__)

Publisher = Callable[[Sequence[Event]], Awaitable[None]]
# Brings the orders a transaction touched back in step with their work (``app/consistency.py``).
Reconciler = Callable[["UnitOfWork", "set[int]"], Awaitable[Any]]


def in_ids(column: Any, ids: Sequence[int], dialect: str, *, name: str | None = None) -> ColumnElement[bool]:
    """``column IN ids`` with one bound parameter however many ids (a sweep may look at a million).

    ``name``: the parameter is named, so a statement built once runs with other ids
    (``{name: ids_value(ids, dialect)}``)."""
    if dialect == "postgresql":
        array = ARRAY(BigInteger)
        return column == any_(bindparam(name, list(ids), type_=array) if name else literal(list(ids), array))
    listed = json.dumps(list(ids))
    return column.in_(
        select(literal_column("value")).select_from(func.json_each(bindparam(name, listed) if name else literal(listed)))
    )


# How many ids ``streamed_ids`` takes from the database at a time.
STREAMED_PART = 5000


async def streamed_ids(
    session: AsyncSession, statement: Any, parameters: Mapping[str, Any] | None = None, *, turns: Turns | None = None
) -> set[int]:
    """The ids a statement selects (nulls left out), read in parts with ``turns`` taken between them:
    a backlog's sweep reads hundreds of thousands, which at once would keep the event loop from a
    request's write for as long as their rows take to handle."""
    found: set[int] = set()
    result = await session.stream_scalars(statement, parameters)
    async for part in result.partitions(STREAMED_PART):
        found.update(part)
        if turns is not None:
            await turns.take()
    found.discard(None)  # an id column of rows that may have none (events of no order)
    return found


_POSTGRESQL = postgresql.dialect()  # made once: the statements below name column types per batch


def _pg_type(table: Table, name: str) -> str:
    """A column's type as PostgreSQL names it, for the statements that unpack rows sent at once."""
    return str(table.c[name].type.compile(dialect=_POSTGRESQL))


async def update_by_id(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], dialect: str) -> None:
    """Set each row's other keys as columns of the table's row of its ``id`` (every row has the same
    keys). On PostgreSQL one statement over arrays rather than one execution per row: a sweep's batch
    stores hundreds at once. Not through the ORM: rows the session holds are the caller's to update."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if dialect == "postgresql":
        arrays = ", ".join(f"CAST(:{name} AS {_pg_type(table, name)}[])" for name in names)
        await session.execute(
            text(
                f"UPDATE {table.name} SET {', '.join(f'{name} = v.{name}' for name in names)} "
                f"FROM unnest(CAST(:id AS integer[]), {arrays}) AS v(id, {', '.join(names)}) WHERE {table.name}.id = v.id"
            ),
            {"id": [row["id"] for row in rows], **{name: [row[name] for row in rows] for name in names}},
        )
        return
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}", type_=table.c[name].type) for name in names}),
        [{f"b_{name}": value for name, value in row.items()} for row in rows],
        execution_options={"synchronize_session": False},
    )


def show_stored(session: AsyncSession, model: type[Any], rows: Iterable[Mapping[str, Any]]) -> None:
    """Rows of ``model`` this session already holds (a mutation's own order, say) take these values,
    stored by a statement past the ORM (``update_by_id``), as committed: its answer shows them. Each
    row has an ``id`` and the columns set; nothing is loaded."""
    mapper = sa_inspect(model)
    held = session.sync_session.identity_map
    for row in rows:
        loaded = held.get(mapper.identity_key_from_primary_key((row["id"],)))
        if loaded is not None:
            for column, value in row.items():
                if column != "id":
                    set_committed_value(loaded, column, value)


async def upsert_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], key: str, dialect: str) -> None:
    """Insert these rows (every row has the same keys), or set their other columns where a row of the
    same ``key`` exists. On PostgreSQL the rows go as one JSON document that the server unpacks
    (``jsonb_to_recordset``), encoded by orjson: a sweep's batch stores hundreds of rows with JSON
    columns while it holds its orders' locks, and SQLAlchemy's per-value bind processing of them
    kept the event loop (a writer's every statement) for ~20 ms a batch."""
    if not rows:
        return
    names = list(rows[0])
    others = [name for name in names if name != key]
    if dialect == "postgresql":
        shape = ", ".join(f"{name} {_pg_type(table, name)}" for name in names)
        await session.execute(
            text(
                f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(names)} "
                f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({shape}) "
                f"ON CONFLICT ({key}) DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in others)}"
            ),
            {"rows": orjson.dumps(list(rows)).decode()},
        )
        return
    insert = sqlite_insert(table)
    await session.execute(
        insert.on_conflict_do_update(index_elements=[key], set_={name: insert.excluded[name] for name in others}),
        list(rows),
    )


def ids_value(ids: Sequence[int], dialect: str) -> Any:
    """The value of ``in_ids``'s named parameter for these ids."""
    return list(ids) if dialect == "postgresql" else json.dumps(list(ids))


class StaleConnection(Unavailable):
    """A kept direct connection was found closed (a database restart, say); a new one may well work."""


class StatementCounter:
    """Counts SQL statements sent (tests and benchmarks read it)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn: Any, *args: Any) -> None:
        if conn.get_execution_options().get("background"):
            return  # the event bus's log polling is not part of any request
        self.count += 1


def json_float(value: float | None) -> str | None:
    """A REAL as the JSON number the response encoder (orjson) writes, for SQL that builds responses (the read
    planner): SQLite's own JSON has 15 significant digits, not the shortest that read back as the same float."""
    if value is None:
        return None
    if not math.isfinite(value):  # GraphQL has no such Float: the statement fails, and strawberry reports it
        raise ValueError(f"not a finite float: {value}")
    return orjson.dumps(float(value)).decode()


class Database:
    """Engines and sessions. Statements' bound values never appear in errors or logs (``hide_parameters``):
    they hold customers' data and token hashes."""

    def __init__(
        self, url: str, *, pool_size: int = 10, echo: bool = False, schema: str | None = None, connect_timeout: float = 5.0
    ) -> None:
        self.url = url
        self.schema = schema
        self.is_sqlite = url.startswith("sqlite")
        self.statements = StatementCounter()
        self.publishers: list[Publisher] = []
        # Handed to every write transaction; the app factory and the command line set it.
        self.reconcile: Reconciler | None = None
        # Whose working time counts (the policy's calendars); wall-clock until the app factory or the CLI sets it.
        self.calendars = CalendarBook()
        self.direct_engine: AsyncEngine | None = None
        # SQLite has one writer at a time. Its busy handler retries a waiting BEGIN IMMEDIATE after
        # growing sleeps (up to 100 ms), so a writer that commits and begins again at once (the
        # jeopardy sweep's batches, a busy client) keeps the lock from the others. This process's
        # writers take turns in arrival order instead.
        self._write_turn: asyncio.Lock | None = asyncio.Lock() if url.startswith("sqlite") else None
        # Work that holds no lock (a sweep preparing its next batch) gives way to these.
        self.writes = WritesInFlight()
        self._direct_idle: list[tuple[AsyncConnection, Any]] = []
        self._direct_keep = pool_size
        if self.is_sqlite:
            connect_args = {"timeout": 30}
            self.engine = create_async_engine(url, echo=echo, hide_parameters=True, connect_args=connect_args)
            # SQLite allows one writer: writes take the lock up front (BEGIN IMMEDIATE) so that a
            # read-then-write never fails half way, and version checks see the latest commit.
            self.write_engine = create_async_engine(url, echo=echo, hide_parameters=True, connect_args=connect_args)
            self._sqlite_pragmas(self.engine, "BEGIN")
            self._sqlite_pragmas(self.write_engine, "BEGIN IMMEDIATE")
        else:
            pg_args: dict[str, Any] = {"server_settings": {"search_path": schema}} if schema else {}
            pg_args["timeout"] = connect_timeout  # an unreachable server fails fast (UNAVAILABLE), not after 60 s
            self.engine = create_async_engine(
                url,
                echo=echo,
                hide_parameters=True,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                connect_args=pg_args,
            )
            self.write_engine = self.engine
            # Single-statement transactions on hot paths (``direct``): no pre-ping round trip per checkout.
            self.direct_engine = create_async_engine(
                url,
                echo=echo,
                hide_parameters=True,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=False,
                connect_args=pg_args,
            )
        for eng in {self.engine, self.write_engine}:
            event.listen(eng.sync_engine, "before_cursor_execute", self.statements)
        self._read = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)

    @staticmethod
    def _sqlite_pragmas(engine: AsyncEngine, begin: str) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            dbapi_connection.create_function("json_float", 1, json_float, deterministic=True)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    async def create_all(self) -> None:
        """Create every table (tests and the embedded default; production uses Alembic)."""
        import app.models  # noqa: F401  registers every table

        async with self.write_engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        async with self._write() as session:
            await ensure_sequence_row(session)
            await session.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
        if self.direct_engine is not None:
            while self._direct_idle:
                await _drop(self._direct_idle.pop()[0], None)
            await self.direct_engine.dispose()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # noqa: BLE001  any failure means not ready
            return False

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short session for reading; nothing it does is committed."""
        try:
            async with self._read() as session:
                yield session
        except Exception as exc:
            raise_if_outage(exc)
            raise

    @asynccontextmanager
    async def direct(self) -> AsyncIterator[Any]:
        """A bare asyncpg connection outside any transaction (PostgreSQL only): each statement commits alone.

        For hot paths whose whole change is one statement. Idle connections are kept here, checked
        out of the engine's pool, because a pool checkout costs more than such a statement's own
        work. Statements sent here bypass the statement counter; callers count them. A broken
        connection is raised as Unavailable and every idle one dropped; as StaleConnection when it was
        a kept one (the server may have restarted since: there is no pre-ping), which a new one may fix.
        """
        assert self.direct_engine is not None, "direct() needs PostgreSQL"
        kept = bool(self._direct_idle)
        if kept:
            conn, driver = self._direct_idle.pop()
        else:
            try:
                conn = await self.direct_engine.connect()
                driver = (await conn.get_raw_connection()).driver_connection
            except Exception as exc:
                raise_if_outage(exc)
                raise
        try:
            yield driver
        except Exception as exc:
            if not is_outage(exc):
                self._direct_idle.append((conn, driver))  # a refused statement; the connection is fine
                raise
            await _drop(conn, exc)
            while self._direct_idle:  # the others are likely dead too
                await _drop(self._direct_idle.pop()[0], exc)
            raise (StaleConnection if kept else Unavailable)(OUTAGE_MESSAGE) from exc
        except BaseException:  # cancelled mid-statement: the connection's state is unknown
            await _drop(conn, None)
            raise
        if len(self._direct_idle) < self._direct_keep:
            self._direct_idle.append((conn, driver))
        else:
            await conn.close()

    def write_session(self) -> AsyncSession:
        """A bare writing session, for set-up work that is no order change (tokens, fixtures)."""
        return self._write()

    @asynccontextmanager
    async def write(self, actor: Actor, now: datetime, *, connection: AsyncConnection | None = None) -> AsyncIterator[UnitOfWork]:
        """One transaction: changes plus their events commit together, then the events are published.

        On ``connection`` when given (the jeopardy monitor's, which holds its leadership lock), else
        on a pooled one.
        """
        try:
            opened = (
                self._write() if connection is None else AsyncSession(bind=connection, expire_on_commit=False, autoflush=False)
            )
            with self.writes.one():
                async with self._write_turn or nullcontext(), opened as session:
                    uow = UnitOfWork(session=session, actor=actor, now=now, db=self, reconcile=self.reconcile)
                    yield uow
                    await uow.settle()
                    if self.is_sqlite:
                        uow.events = await flush_events(session, uow.pending)
                        await session.commit()
                    else:
                        uow.events = await commit_numbered(session, uow.pending)
                        self.statements.count += 2 if uow.events else 0  # sent on the driver, past the counter
        except Exception as exc:
            raise_if_outage(exc)
            raise
        if uow.events:
            await self.publish(uow.events)

    @asynccontextmanager
    async def trial(self, actor: Actor, now: datetime) -> AsyncIterator[UnitOfWork]:
        """A write transaction that is always rolled back: what a change would do, committing nothing.

        The caller settles it (``uow.settle()``) to see the reconciled result before the rollback.
        """
        try:
            async with self._write_turn or nullcontext(), self._write() as session:
                try:
                    yield UnitOfWork(session=session, actor=actor, now=now, db=self, reconcile=self.reconcile)
                finally:
                    await session.rollback()
        except Exception as exc:
            raise_if_outage(exc)
            raise

    async def publish(self, events: Sequence[Event]) -> None:
        for publish in self.publishers:
            try:
                await publish(events)
            except asyncio.CancelledError:
                raise
            except Exception:  # the events are durable in the log; subscribers backfill from it
                log.exception("publishing %d events failed", len(events))


def raise_if_outage(exc: Exception) -> None:
    """Raise Unavailable from ``exc`` when it means the database is unreachable (app/outages.py);
    a refusal (DomainError) stays what it is."""
    if isinstance(exc, DomainError):
        return
    if is_outage(exc):
        raise Unavailable(OUTAGE_MESSAGE) from exc


async def _drop(conn: AsyncConnection, exc: BaseException | None) -> None:
    """Invalidate a direct connection (it goes back to the engine's pool as closed)."""
    try:
        await conn.invalidate(exc)
        await conn.close()
    except Exception:
        log.debug("dropping a direct connection failed", exc_info=True)


class UnitOfWork:
    """What a domain function gets to change things: a session, who acts, when, and the event log."""

    def __init__(
        self, session: AsyncSession, actor: Actor, now: datetime, db: Database, reconcile: Reconciler | None = None
    ) -> None:
        self.session = session
        self.actor = actor
        self.now = now
        self.db = db
        self.reconcile = reconcile
        self.pending: list[dict[str, Any]] = []
        self.events: list[Event] = []
        # Per order: how many of ``pending`` its last reconciliation had seen.
        self._settled: dict[int, int] = {}

    def touched(self) -> set[int]:
        """Orders with events recorded since they were last reconciled in this transaction."""
        settled = self._settled
        return {oid for n, e in enumerate(self.pending) if (oid := e["order_id"]) is not None and n >= settled.get(oid, 0)}

    def mark_reconciled(self, order_ids: set[int] | Sequence[int]) -> None:
        """These orders are in step with every event recorded so far (the reconciler's own included)."""
        upto = len(self.pending)
        for oid in order_ids:
            self._settled[oid] = upto

    async def settle(self) -> None:
        """Before the events are numbered: reconcile every order this transaction touched."""
        if self.reconcile is not None and (touched := self.touched()):
            await self.reconcile(self, touched)

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name if self.session.bind else "sqlite"

    def record(
        self,
        type: str,
        *,
        entity: str,
        entity_id: int,
        order_id: int | None = None,
        party_order_id: int | None = None,
        party_id: int | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append an event to this transaction; it gets its sequence number at commit. Its type must be
        declared in app/event_visibility.py (who may see which of its fields), or nothing is recorded."""
        require_declared(type)
        self.pending.append(
            {
                "type": type,
                "entity": entity,
                "entity_id": entity_id,
                "order_id": order_id,
                "party_order_id": party_order_id,
                "party_id": party_id,
                "actor": self.actor.name,
                "actor_role": self.actor.role.value,
                "at": self.now,
                "data": {"before": before or {}, "after": after or {}, **(data or {})},
            }
        )
