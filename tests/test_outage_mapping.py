"""Which failures are outages is decided by exception class, never by message text: each way the
database can be unreachable is UNAVAILABLE, however it is wrapped; a refusal or a bug is not one."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from app.outages import is_outage

OUTAGES = [
    ConnectionRefusedError(111, "Connect call failed"),
    ConnectionResetError(104, "reset by peer"),
    TimeoutError(),
    OSError("Multiple exceptions: [Errno 111] Connect call failed"),
    asyncpg.CannotConnectNowError("the database system is shutting down"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.CannotConnectNowError("the database system is in recovery mode"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CrashShutdownError("terminating connection because of crash of another server process"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.ConnectionFailureError("could not send data"),
]


def sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # set by sqlite3 itself on real errors
    return error


def wrapped(exc: BaseException) -> DBAPIError:
    """As SQLAlchemy raises it: its error around the adapter's, raised from the driver's."""
    adapted = Exception(str(exc))
    adapted.__cause__ = exc
    return DBAPIError("SELECT 1", None, adapted)


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__)
def test_every_way_the_database_can_be_unreachable_is_an_outage(exc: BaseException) -> None:
    assert is_outage(exc)
    assert is_outage(wrapped(exc))


def test_sqlite_busy_and_locked_are_outages_by_their_result_code() -> None:
    assert is_outage(sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"))
    assert is_outage(sqlite_error(sqlite3.SQLITE_LOCKED, "database table is locked"))
    assert not is_outage(sqlite_error(sqlite3.SQLITE_ERROR, "no such table: connection_closed"))


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("duplicate key value"),
        asyncpg.NumericValueOutOfRangeError("value out of int32 range"),
        asyncpg.UndefinedTableError('relation "connection" does not exist'),  # the text says connection: still a bug
        KeyError("could not connect"),
        FileNotFoundError("policy.yaml"),
        ValueError("the database system is shutting down"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_refusals_and_bugs_are_not_outages_whatever_their_message_says(exc: BaseException) -> None:
    assert not is_outage(exc)
    assert not is_outage(wrapped(exc))


def test_sqlalchemy_errors_keep_their_meaning() -> None:
    assert not is_outage(IntegrityError("INSERT", None, Exception("duplicate")))
    assert not is_outage(ProgrammingError("SELECT", None, Exception("syntax")))
    invalidated = DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True)
    assert is_outage(invalidated)
