"""The one place that decides whether an exception means "the database is unreachable for now".

Decided by exception class (and SQLite's result code), never by message text: a connection refused,
reset or closed; a server shutting down, starting up or in recovery (PostgreSQL class 57 and
``CannotConnectNowError``); too many connections; a connection attempt that timed out; SQLite busy
or locked. Such a failure answers ``UNAVAILABLE`` (the client retries) wherever it happens: the token
lookup, GraphQL, websockets, the monitor.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, DisconnectionError, TimeoutError as PoolTimeout

MESSAGE = "The database is not reachable right now; retry shortly."

_SQLITE_OUTAGES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR})


_FILE_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


def _asyncpg_outages() -> tuple[type[BaseException], ...]:
    import asyncpg

    return (
        asyncpg.PostgresConnectionError,  # class 08: connection exceptions (refused, failure, does not exist)
        asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
        asyncpg.AdminShutdownError,  # 57P01: terminated by the administrator (a restart)
        asyncpg.CrashShutdownError,  # 57P02: another server process crashed
        asyncpg.TooManyConnectionsError,  # 53300
        asyncpg.InterfaceError,  # the client side of a lost connection (closed, or its protocol state broken by the loss)
        asyncpg.InternalClientError,
    )


try:
    _DRIVER_OUTAGES = _asyncpg_outages()
except ImportError:  # SQLite-only installations
    _DRIVER_OUTAGES = ()


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped (``orig``) and what it was raised from, a few levels deep."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 8:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(
            e for e in (getattr(current, "orig", None), current.__cause__, current.__context__) if isinstance(e, BaseException)
        )


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (retry later) rather than a refusal or a bug."""
    for e in _chain(exc):
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, (ConnectionError, TimeoutError, DisconnectionError, PoolTimeout, *_DRIVER_OUTAGES)):
            return True
        if isinstance(e, OSError) and not isinstance(e, _FILE_ERRORS):
            return True  # socket-level failures (no route, several addresses all refused); not files the code opens
        code = getattr(e, "sqlite_errorcode", None) if isinstance(e, sqlite3.Error) else None
        if code is not None and code & 0xFF in _SQLITE_OUTAGES:  # extended codes keep the primary one in the low byte
            return True
    return False
