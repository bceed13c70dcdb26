"""Reading party orders: filtered lists (scoped to a party for partners), open change requests, parties."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth import Actor
from app.pagination import Page, keyset_page
from app.party_orders.models import Party, PartyChangeRequest, PartyOrder


@dataclass
class PartyOrderFilter:
    party_id: int | None = None
    order_id: int | None = None
    states: list[str] = field(default_factory=list)
    report_overdue: bool | None = None  # no report within the party's reporting interval
    needed_from: datetime | None = None
    needed_to: datetime | None = None
    jeopardy_levels: list[str] = field(default_factory=list)


SORTS: dict[str, tuple[Any, type, Callable[[PartyOrder], Any]]] = {
    "createdAt": (PartyOrder.created_at, datetime, lambda p: p.created_at),
    "neededBy": (PartyOrder.needed_by, datetime, lambda p: p.needed_by),
    "updatedAt": (PartyOrder.updated_at, datetime, lambda p: p.updated_at),
}


def scope(actor: Actor, party_id: int | None) -> int | None:
    """Partners only ever see their own party; -1 matches nothing when they ask for another."""
    if actor.is_partner:
        return actor.party_id if party_id in (None, actor.party_id) else -1
    return party_id


def filtered(f: PartyOrderFilter, now: datetime | None) -> Any:
    """The filter as a query; ``now`` is needed only when it asks for overdue reports (or not)."""
    query = select(PartyOrder)
    if f.party_id is not None:
        query = query.where(col(PartyOrder.party_id) == f.party_id)
    if f.order_id is not None:
        query = query.where(col(PartyOrder.order_id) == f.order_id)
    if f.states:
        query = query.where(col(PartyOrder.state).in_(f.states))
    if f.jeopardy_levels:
        query = query.where(col(PartyOrder.jeopardy_level).in_(f.jeopardy_levels))
    if f.report_overdue is not None and now is None:
        raise ValueError("the report_overdue filter needs the current time")
    if f.report_overdue is True:
        query = query.where(col(PartyOrder.next_report_due) < now)
    elif f.report_overdue is False:
        query = query.where((col(PartyOrder.next_report_due).is_(None)) | (col(PartyOrder.next_report_due) >= now))
    if f.needed_from is not None:
        query = query.where(col(PartyOrder.needed_by) >= f.needed_from)
    if f.needed_to is not None:
        query = query.where(col(PartyOrder.needed_by) < f.needed_to)
    return query


async def list_party_orders(
    session: AsyncSession,
    f: PartyOrderFilter,
    now: datetime | None,
    *,
    sort: str = "createdAt",
    descending: bool = True,
    first: int = 20,
    after: str | None = None,
) -> Page[PartyOrder]:
    column, kind, value_of = SORTS[sort]
    return await keyset_page(
        session,
        filtered(f, now),
        sort=column,
        sort_kind=kind,
        id_column=col(PartyOrder.id),
        descending=descending,
        first=first,
        after=after,
        value_of=value_of,
    )


async def get_party_order(session: AsyncSession, party_order_id: int, party_id: int | None) -> PartyOrder | None:
    query = select(PartyOrder).where(col(PartyOrder.id) == party_order_id)
    if party_id is not None:
        query = query.where(col(PartyOrder.party_id) == party_id)
    return (await session.execute(query)).scalar_one_or_none()


async def open_change_requests(
    session: AsyncSession, *, party_id: int | None, order_id: int | None, first: int = 20, after: str | None = None
) -> Page[PartyChangeRequest]:
    """Change requests awaiting resolution, oldest first."""
    query = select(PartyChangeRequest).where(col(PartyChangeRequest.state) == "open")
    if party_id is not None:
        query = query.where(col(PartyChangeRequest.party_id) == party_id)
    if order_id is not None:
        query = query.where(col(PartyChangeRequest.order_id) == order_id)
    return await keyset_page(
        session,
        query,
        sort=col(PartyChangeRequest.created_at),
        sort_kind=datetime,
        id_column=col(PartyChangeRequest.id),
        descending=False,
        first=first,
        after=after,
        value_of=lambda r: r.created_at,
    )


async def list_parties(session: AsyncSession, *, first: int = 20, after: str | None = None) -> Page[Party]:
    return await keyset_page(
        session,
        select(Party),
        sort=col(Party.name),
        sort_kind=str,
        id_column=col(Party.id),
        descending=False,
        first=first,
        after=after,
        value_of=lambda p: p.name,
    )
