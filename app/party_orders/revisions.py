"""Revisions of a party order: the changed lines an amendment of its customer order sends to the party.

A revision lists the lines that changed (``modify``: new quantity and characteristics; ``delete``: the
line is no longer wanted). The party acknowledges it, or rejects it with a reason: a rejection is an
open change request on the customer order for staff. A newer revision supersedes an open older one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlmodel import col

from app import validation as v
from app.db import UnitOfWork
from app.errors import InvalidInput, InvalidTransition
from app.party_orders import change_requests, states
from app.party_orders.core import record, touch
from app.party_orders.models import PartyOrder, PartyOrderItem, PartyOrderRevision

OPEN = "open"
ANSWERED = ("acknowledged", "rejected")


async def _open_revisions(uow: UnitOfWork, po: PartyOrder) -> list[PartyOrderRevision]:
    rows = await uow.session.execute(
        select(PartyOrderRevision)
        .where(col(PartyOrderRevision.party_order_id) == po.id, col(PartyOrderRevision.state) == OPEN)
        .order_by(col(PartyOrderRevision.revision))
    )
    return list(rows.scalars())


async def supersede_open(uow: UnitOfWork, po: PartyOrder) -> None:
    """Open revisions nobody answered are superseded (by a newer one, or by the party order's cancellation)."""
    for older in await _open_revisions(uow, po):
        older.state = "superseded"
        older.answered_at = uow.now


async def revise(uow: UnitOfWork, po: PartyOrder, lines: list[dict[str, Any]], order_revision: int) -> PartyOrderRevision:
    """Send the party a new revision with these changed lines; deleted lines no longer belong to the party order."""
    await supersede_open(uow, po)
    dropped = [line["item_id"] for line in lines if line["change"] == "delete"]
    if dropped:
        await uow.session.execute(
            delete(PartyOrderItem).where(col(PartyOrderItem.party_order_id) == po.id, col(PartyOrderItem.item_id).in_(dropped))
        )
    po.revision += 1
    row = PartyOrderRevision(
        party_order_id=po.id or 0,
        order_id=po.order_id,
        party_id=po.party_id,
        revision=po.revision,
        order_revision=order_revision,
        lines=lines,
        state=OPEN,
        created_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    touch(uow, po)
    record(
        uow,
        po,
        "partyOrderRevised",
        entity="partyOrderRevision",
        entity_id=row.id,
        after={"revision": row.revision, "lines": lines, "state": OPEN},
        data={"order_revision": order_revision},
    )
    return row


async def _revision(uow: UnitOfWork, po: PartyOrder, number: int) -> PartyOrderRevision:
    row = (
        await uow.session.execute(
            select(PartyOrderRevision).where(
                col(PartyOrderRevision.party_order_id) == po.id, col(PartyOrderRevision.revision) == number
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise InvalidInput(f"Party order {po.id} has no revision {number}.", field="revision")
    if row.state != OPEN:
        raise InvalidTransition(
            f"Revision {number} of party order {po.id} is {row.state}; it takes no answer.", current=row.state
        )
    if not states.PARTY_ORDER.is_open(po.state):
        raise InvalidTransition(f"Party order {po.id} is {po.state}; its revisions take no answer.", current=po.state)
    return row


async def acknowledge(uow: UnitOfWork, po: PartyOrder, number: int) -> PartyOrderRevision:
    """The party accepts the changed lines."""
    row = await _revision(uow, po, number)
    row.state, row.answered_at, row.answered_by = "acknowledged", uow.now, uow.actor.name
    touch(uow, po)
    record(
        uow,
        po,
        "partyOrderRevisionAcknowledged",
        entity="partyOrderRevision",
        entity_id=row.id,
        before={"state": OPEN},
        after={"state": row.state, "revision": number},
    )
    return row


async def reject(uow: UnitOfWork, po: PartyOrder, number: int, reason: str) -> PartyOrderRevision:
    """The party cannot take the changed lines: staff get an open change request on the customer order."""
    text = v.required_text(reason, "reason", max_len=1000)
    row = await _revision(uow, po, number)
    row.state, row.answered_at, row.answered_by, row.reason = "rejected", uow.now, uow.actor.name, text
    request = await change_requests.raise_for_rejected_revision(uow, po, number, text)
    row.change_request_id = request.id
    record(
        uow,
        po,
        "partyOrderRevisionRejected",
        entity="partyOrderRevision",
        entity_id=row.id,
        before={"state": OPEN},
        after={"state": row.state, "revision": number},
        data={"reason": text},
    )
    return row
