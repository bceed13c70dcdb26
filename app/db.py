"""The database: async engines, read sessions and the one write transaction helper."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import JSON, DateTime, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from app.errors import Unavailable

if TYPE_CHECKING:
    from app.auth import Actor
    from app.events import Event

log = logging.getLogger(__name__)

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend; SQLite keeps them as naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


Publisher = Callable[[Sequence["Event"]], Awaitable[None]]
M = TypeVar("M")


def as_loaded(model: type[M], values: dict[str, Any]) -> M:
    """A model instance holding stored values (every column), made the way the ORM makes one for a
    loaded row: without ``__init__``'s per-field work (~50 µs for an event), and in no session."""
    obj = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(values)
    return obj  # type: ignore[no-any-return]


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


class Database:
    def __init__(
        self, url: str, *, pool_size: int = 10, echo: bool = False, schema: str | None = None, connect_timeout: float = 5.0
    ) -> None:
        self.url = url
        self.schema = schema
        self.is_sqlite = url.startswith("sqlite")
        self.statements = StatementCounter()
        self.publishers: list[Publisher] = []
        self.direct_engine: AsyncEngine | None = None
        # SQLite has one writer at a time. Its busy handler retries a waiting BEGIN IMMEDIATE after
        # growing sleeps (up to 100 ms), so a writer that commits and begins again at once (the
        # jeopardy sweep's batches, a busy client) keeps the lock from the others. This process's
        # writers take turns in arrival order instead.
        self._write_turn: asyncio.Lock | None = asyncio.Lock() if url.startswith("sqlite") else None
        self._direct_idle: list[tuple[AsyncConnection, Any]] = []
        self._direct_keep = pool_size
        if self.is_sqlite:
            connect_args = {"timeout": 30}
            self.engine = create_async_engine(url, echo=echo, connect_args=connect_args)
            # SQLite allows one writer: writes take the lock up front (BEGIN IMMEDIATE) so that a
            # read-then-write never fails half way, and version checks see the latest commit.
            self.write_engine = create_async_engine(url, echo=echo, connect_args=connect_args)
            self._sqlite_pragmas(self.engine, "BEGIN")
            self._sqlite_pragmas(self.write_engine, "BEGIN IMMEDIATE")
        else:
            pg_args: dict[str, Any] = {"server_settings": {"search_path": schema}} if schema else {}
            pg_args["timeout"] = connect_timeout  # an unreachable server fails fast (UNAVAILABLE), not after 60 s
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, connect_args=pg_args
            )
            self.write_engine = self.engine
            # Single-statement transactions on hot paths (``direct``): no pre-ping round trip per checkout.
            self.direct_engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False, connect_args=pg_args
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

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    async def create_all(self) -> None:
        """Create every table (tests and the embedded default; production uses Alembic)."""
        import app.models  # noqa: F401  registers every table

        async with self.write_engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        from app.events import ensure_sequence_row

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
        except Exception:  # any failure means not ready
            return False

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short session for reading; nothing it does is committed."""
        try:
            async with self._read() as session:
                yield session
        except (OperationalError, DBAPIError, OSError, ConnectionError) as exc:
            if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not _is_outage(exc):
                raise
            raise Unavailable("The database is not reachable right now; retry shortly.") from exc

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
            except (OperationalError, DBAPIError, OSError, ConnectionError) as exc:
                if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not _is_outage(exc):
                    raise
                raise Unavailable("The database is not reachable right now; retry shortly.") from exc
        try:
            yield driver
        except Exception as exc:
            if not isinstance(exc, (OSError, ConnectionError)) and not _is_driver_outage(exc):
                self._direct_idle.append((conn, driver))  # a refused statement; the connection is fine
                raise
            await _drop(conn, exc)
            while self._direct_idle:  # the others are likely dead too
                await _drop(self._direct_idle.pop()[0], exc)
            raise (StaleConnection if kept else Unavailable)("The database is not reachable right now; retry shortly.") from exc
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
        from app.events import flush_events

        try:
            opened = self._write() if connection is None else AsyncSession(bind=connection, expire_on_commit=False, autoflush=False)
            async with self._write_turn or nullcontext(), opened as session:
                uow = UnitOfWork(session=session, actor=actor, now=now, db=self)
                yield uow
                uow.events = await flush_events(session, uow.pending)
                for hook in uow.before_commit:
                    await hook(uow.events)
                await session.commit()
        except (OperationalError, DBAPIError, OSError, ConnectionError) as exc:
            if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not _is_outage(exc):
                raise
            raise Unavailable("The database is not reachable right now; retry shortly.") from exc
        if uow.events:
            await self.publish(uow.events)

    async def publish(self, events: Sequence[Event]) -> None:
        for publish in self.publishers:
            try:
                await publish(events)
            except asyncio.CancelledError:
                raise
            except Exception:  # the events are durable in the log; subscribers backfill from it
                log.exception("publishing %d events failed", len(events))


def _is_outage(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig else ""
    return any(s in text for s in ("connection", "could not connect", "terminat", "closed", "database is locked"))


async def _drop(conn: AsyncConnection, exc: BaseException | None) -> None:
    """Invalidate a direct connection (it goes back to the engine's pool as closed)."""
    try:
        await conn.invalidate(exc)  # type: ignore[arg-type]
        await conn.close()
    except Exception:  # noqa: BLE001  it is being thrown away
        log.debug("dropping a direct connection failed", exc_info=True)


def _is_driver_outage(exc: Exception) -> bool:
    """asyncpg's own errors for a lost or unusable connection (``direct`` sees them unwrapped; a
    connection the server has just closed may still report a protocol state error first)."""
    import asyncpg

    return isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                            asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError))


class UnitOfWork:
    """What a domain function gets to change things: a session, who acts, when, and the event log."""

    def __init__(self, session: AsyncSession, actor: Actor, now: datetime, db: Database) -> None:
        self.session = session
        self.actor = actor
        self.now = now
        self.db = db
        self.pending: list[dict[str, Any]] = []
        self.events: list[Event] = []
        # Called with this transaction's numbered events, after they are written, before the commit.
        self.before_commit: list[Callable[[list[Event]], Awaitable[None]]] = []

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
        """Append an event to this transaction; it gets its sequence number at commit."""
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
