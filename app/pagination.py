"""Keyset (cursor) pagination for any list: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlalchemy.sql import ColumnElement

from app.errors import InvalidInput
from app.validation import MAX_ID, MAX_SEQ

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count_query: Select[Any] | None = None

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode()


class Seq(int):
    """Cursor value kind: an event sequence number (64-bit); a plain ``int`` is a 32-bit id or rank."""


MAX_CURSOR_TEXT = 1000


def decode_cursor(cursor: str, kinds: Sequence[type]) -> list[Any]:
    """The values inside a cursor, each checked to be one a column can hold (INVALID_INPUT otherwise):
    aware datetimes in range, ints within the column's width, text PostgreSQL can store."""
    try:
        if not isinstance(cursor, str) or len(cursor) > 4 * MAX_CURSOR_TEXT:
            raise ValueError
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError
        return [_cursor_value(value, kind) for value, kind in zip(raw, kinds)]
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:  # JSON and Unicode errors are ValueErrors
        raise InvalidInput("The cursor is not one this API gave out.", field="after") from exc


def _cursor_value(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise ValueError("naive datetime")
        parsed.astimezone(timezone.utc)  # OverflowError past either end of the calendar
        return parsed
    if kind is str:
        if not isinstance(value, str) or len(value) > MAX_CURSOR_TEXT or "\x00" in value:
            raise ValueError
        value.encode("utf-8")  # lone surrogates raise
        return value
    if kind in (int, Seq):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= (MAX_SEQ if kind is Seq else MAX_ID):
            raise ValueError
        return value
    raise TypeError(f"no cursor kind {kind!r}")


def check_page_size(first: int, limit: int = MAX_PAGE_SIZE) -> None:
    if first < 1 or first > limit:
        raise InvalidInput(f"first must be between 1 and {limit}.", field="first", max=limit)


def keyset_query(
    query: Select[Any],
    *,
    sort: ColumnElement[Any] | Mapped[Any],
    sort_kind: type,
    id_column: ColumnElement[int] | Mapped[int | None],
    descending: bool,
    first: int,
    after: str | None,
    limit: int = MAX_PAGE_SIZE,
    position: str | None = None,
) -> Select[Any]:
    """``query`` limited to one page ordered by (sort, id), one row more than ``first`` (it tells whether
    a next page exists), with a column ``position`` numbering the rows in that order if asked for.
    Raises InvalidInput for a page size or cursor this API does not accept."""
    check_page_size(first, limit)
    if after:
        value, last_id = decode_cursor(after, [sort_kind, int])
        if descending:
            query = query.where(or_(sort < value, and_(sort == value, id_column < last_id)))
        else:
            query = query.where(or_(sort > value, and_(sort == value, id_column > last_id)))
    order = (sort.desc(), id_column.desc()) if descending else (sort.asc(), id_column.asc())
    if position is not None:
        query = query.add_columns(func.row_number().over(order_by=order).label(position))
    return query.order_by(*order).limit(first + 1)


def count_of(query: Select[Any]) -> Select[Any]:
    """How many rows ``query`` has over all pages (``totalCount``)."""
    return select(func.count()).select_from(query.order_by(None).subquery())


def page_of(
    rows: list[Any], *, first: int, after: str | None, value_of: Callable[[Any], Any], count_query: Select[Any] | None = None
) -> Page[Any]:
    """The page made of the rows a ``keyset_query`` returned."""
    has_next = len(rows) > first
    rows = rows[:first]
    cursors = [encode_cursor([value_of(r), r.id]) for r in rows]
    return Page(items=rows, cursors=cursors, has_next_page=has_next, has_previous_page=after is not None, count_query=count_query)


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    sort: ColumnElement[Any] | Mapped[Any],
    sort_kind: type,
    id_column: ColumnElement[int] | Mapped[int | None],
    descending: bool,
    first: int,
    after: str | None,
    value_of: Callable[[Any], Any],
    limit: int = MAX_PAGE_SIZE,
) -> Page[Any]:
    """One page of ``query`` ordered by (sort, id); ``value_of(row)`` reads the sort value back."""
    count_query = count_of(query)
    paged = keyset_query(
        query, sort=sort, sort_kind=sort_kind, id_column=id_column, descending=descending, first=first, after=after, limit=limit
    )
    rows = list((await session.execute(paged)).scalars())
    return page_of(rows, first=first, after=after, value_of=value_of, count_query=count_query)
