"""Reading customer orders: one order, filtered and sorted lists, the timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.errors import InvalidInput
from app.events import Event
from app.orders.models import CustomerOrder
from app.pagination import Page, Seq, check_page_size, decode_cursor, encode_cursor, keyset_page, keyset_query

PRIORITY_RANK = {"low": 1, "normal": 2, "high": 3, "critical": 4}


@dataclass
class OrderFilter:
    states: list[str] = field(default_factory=list)
    customer_id: str | None = None
    priorities: list[str] = field(default_factory=list)
    jeopardy_levels: list[str] = field(default_factory=list)
    committed_from: datetime | None = None
    committed_to: datetime | None = None
    text: str | None = None
    ids: list[int] | None = None


# sort name -> (SQL expression, cursor value type, how to read the value off a loaded order)
SORTS: dict[str, tuple[Any, type, Callable[[CustomerOrder], Any]]] = {
    "createdAt": (CustomerOrder.created_at, datetime, lambda o: o.created_at),
    "updatedAt": (CustomerOrder.updated_at, datetime, lambda o: o.updated_at),
    "committedDate": (CustomerOrder.committed_date, datetime, lambda o: o.committed_date),
    "salesRequestRef": (CustomerOrder.sales_request_ref, str, lambda o: o.sales_request_ref),
    "priority": (case(PRIORITY_RANK, value=CustomerOrder.priority, else_=0), int, lambda o: PRIORITY_RANK.get(o.priority, 0)),
}


def filtered(f: OrderFilter) -> Any:
    query = select(CustomerOrder)
    if f.states:
        query = query.where(col(CustomerOrder.state).in_(f.states))
    if f.customer_id:
        query = query.where(col(CustomerOrder.customer_id) == f.customer_id)
    if f.priorities:
        query = query.where(col(CustomerOrder.priority).in_(f.priorities))
    if f.jeopardy_levels:
        query = query.where(col(CustomerOrder.jeopardy_level).in_(f.jeopardy_levels))
    if f.committed_from:
        query = query.where(col(CustomerOrder.committed_date) >= f.committed_from)
    if f.committed_to:
        query = query.where(col(CustomerOrder.committed_date) < f.committed_to)
    if f.ids is not None:
        query = query.where(col(CustomerOrder.id).in_(f.ids))
    if f.text:
        if len(f.text) > 100:
            raise InvalidInput("The search text is longer than 100 characters.", field="text")
        pattern = "%" + f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"
        query = query.where(
            or_(
                col(CustomerOrder.sales_request_ref).ilike(pattern, escape="\\"),
                col(CustomerOrder.customer_name).ilike(pattern, escape="\\"),
            )
        )
    return query


async def list_orders(
    session: AsyncSession,
    f: OrderFilter,
    *,
    sort: str = "createdAt",
    descending: bool = True,
    first: int = 20,
    after: str | None = None,
) -> Page[CustomerOrder]:
    column, kind, value_of = SORTS[sort]
    return await keyset_page(
        session,
        filtered(f),
        sort=column,
        sort_kind=kind,
        id_column=col(CustomerOrder.id),
        descending=descending,
        first=first,
        after=after,
        value_of=value_of,
    )


def orders_page_query(
    f: OrderFilter, *, sort: str, descending: bool, first: int, after: str | None, position: str | None = None
) -> Any:
    """The statement ``list_orders`` runs (one row more than ``first``), for a reader that builds the page itself;
    ``position`` names a column numbering the rows in page order."""
    column, kind, _ = SORTS[sort]
    return keyset_query(
        filtered(f),
        sort=column,
        sort_kind=kind,
        id_column=col(CustomerOrder.id),
        descending=descending,
        first=first,
        after=after,
        position=position,
    )


async def timeline(session: AsyncSession, order_id: int, *, first: int = 50, after: str | None = None) -> Page[Event]:
    """The order's events in sequence order, each with its log cursor."""
    check_page_size(first)
    since = decode_cursor(after, [Seq])[0] if after else 0
    rows = list(
        (
            await session.execute(
                select(Event)
                .where(col(Event.order_id) == order_id, col(Event.seq) > since)
                .order_by(col(Event.seq))
                .limit(first + 1)
            )
        ).scalars()
    )
    has_next = len(rows) > first
    rows = rows[:first]
    return Page(items=rows, cursors=[event_cursor(e.seq) for e in rows], has_next_page=has_next, has_previous_page=since > 0)


def event_cursor(seq: int) -> str:
    return encode_cursor([seq])
