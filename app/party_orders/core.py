"""What every party order change shares: loading under lock, the one state move, recording events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.db import UnitOfWork
from app.errors import Conflict, not_found
from app.orders.core import get_order_for_update
from app.orders.models import CustomerOrder
from app.party_orders import states
from app.party_orders.models import Party, PartyOrder
from app.state_machine import EventScope


def snapshot(po: PartyOrder) -> dict[str, Any]:
    return {
        "state": po.state,
        "needed_by": po.needed_by,
        "party_ref": po.party_ref,
        "committed_delivery": po.committed_delivery,
        "expected_delivery": po.expected_delivery,
        "percent_complete": po.percent_complete,
        "note": po.note,
        "version": po.version,
    }


async def load_party_order(
    uow: UnitOfWork, party_order_id: int, *, party_id: int | None = None, expected_version: int | None = None
) -> tuple[CustomerOrder, PartyOrder]:
    """Lock the originating customer order, then the party order (the project's lock order).

    ``party_id`` scopes the lookup to one party: any other party's id is NOT_FOUND, as if unknown.
    """
    query = select(col(PartyOrder.order_id)).where(col(PartyOrder.id) == party_order_id)
    if party_id is not None:
        query = query.where(col(PartyOrder.party_id) == party_id)
    order_id = (await uow.session.execute(query)).scalar_one_or_none()
    if order_id is None:
        raise not_found("Party order", party_order_id)
    order = await get_order_for_update(uow, order_id)
    po = (
        await uow.session.execute(
            select(PartyOrder)
            .where(col(PartyOrder.id) == party_order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if expected_version is not None and po.version != expected_version:
        raise Conflict(
            f"Party order {party_order_id} was changed by someone else (version {po.version}, you sent "
            f"{expected_version}). Reload it and apply your change again.",
            current_version=po.version,
        )
    return order, po


def record(
    uow: UnitOfWork,
    po: PartyOrder,
    type: str,
    *,
    entity: str = "partyOrder",
    entity_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """One event, on the customer order's timeline and scoped to the party order and its party."""
    uow.record(
        type,
        entity=entity,
        entity_id=entity_id if entity_id is not None else po.id or 0,
        order_id=po.order_id,
        party_order_id=po.id,
        party_id=po.party_id,
        before=before,
        after=after,
        data=data,
    )


def touch(uow: UnitOfWork, po: PartyOrder) -> None:
    po.version += 1
    po.updated_at = uow.now


def move_party_order(uow: UnitOfWork, po: PartyOrder, target: str, reason: str | None = None) -> None:
    """The single place a party order's state changes (checked against the machine, one event)."""
    scope = EventScope(po.id or 0, po.order_id, party_order_id=po.id, party_id=po.party_id)
    states.PARTY_ORDER.transition(uow, po, target, scope, reason=reason)
    po.state_reason = reason
    if target == "acknowledged" and po.acknowledged_at is None:
        po.acknowledged_at = uow.now
    if not states.PARTY_ORDER.is_open(target):
        po.closed_at = uow.now
        po.next_report_due = None  # nothing more is expected from the party
    touch(uow, po)


def cancel_or_ask(uow: UnitOfWork, po: PartyOrder, reason: str) -> bool:
    """Cancel a party order the party has not acknowledged; ask one it has (True: it must confirm)."""
    if po.acknowledged_at is None:
        move_party_order(uow, po, "cancelled", reason)
        return False
    move_party_order(uow, po, "pendingCancellation", reason)
    record(uow, po, "partyOrderCancellationRequested", data={"reason": reason})
    return True


async def expect_report(uow: UnitOfWork, po: PartyOrder) -> None:
    """Heard from the party now: the next report is due one reporting interval later, in business
    hours of the party's calendar (plain hours when it works wall-clock time)."""
    party = await uow.session.get(Party, po.party_id)
    assert party is not None
    po.last_report_at = uow.now
    if states.PARTY_ORDER.is_open(po.state):
        calendar = uow.db.calendars.for_party(party.name)
        po.next_report_due = calendar.add(uow.now, party.reporting_interval_hours * 3600.0)
