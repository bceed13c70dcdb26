"""Change requests: raised by the party (forced or requested), resolved at the originating customer order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import validation as v
from app.db import UnitOfWork
from app.errors import InvalidInput, InvalidTransition, not_found
from app.party_orders import states
from app.party_orders.core import load_party_order, record, touch
from app.party_orders.models import PartyChangeRequest, PartyOrder


@dataclass
class NewChangeRequest:
    nature: str  # forced (outside the party's control) | requested
    kind: str  # deliveryDate | other
    reason: str
    proposed_delivery: datetime | None = None


def raise_change_request(uow: UnitOfWork, po: PartyOrder, data: NewChangeRequest) -> PartyChangeRequest:
    """Called by the partner side with the party order already locked."""
    if data.nature not in states.CHANGE_NATURES:
        raise InvalidInput("nature must be forced or requested.", field="nature")
    if data.kind not in states.CHANGE_KINDS:
        raise InvalidInput("kind must be deliveryDate or other.", field="kind")
    reason = v.required_text(data.reason, "reason", max_len=v.MAX_TEXT)
    proposed = data.proposed_delivery
    if data.kind == "deliveryDate":
        if proposed is None:
            raise InvalidInput("A delivery date change proposes a new delivery date.", field="proposedDeliveryDate")
        v.future(proposed, "proposedDeliveryDate", uow.now)
    elif proposed is not None:
        raise InvalidInput("Only a deliveryDate change proposes a delivery date.", field="proposedDeliveryDate")
    if po.state not in states.ACTIVE:
        raise InvalidTransition(
            f"Party order {po.id} is {po.state}; changes can be requested while it is {', '.join(sorted(states.ACTIVE))}.",
            current=po.state,
        )
    request = PartyChangeRequest(
        party_order_id=po.id or 0,
        order_id=po.order_id,
        party_id=po.party_id,
        nature=data.nature,
        kind=data.kind,
        proposed_delivery=proposed,
        reason=reason,
        state="open",
        raised_by=uow.actor.name,
        created_at=uow.now,
    )
    uow.session.add(request)
    touch(uow, po)
    return request


def record_raised(uow: UnitOfWork, po: PartyOrder, request: PartyChangeRequest) -> None:
    record(
        uow,
        po,
        "partyChangeRequested",
        entity="partyChangeRequest",
        entity_id=request.id,
        after={
            "nature": request.nature,
            "kind": request.kind,
            "proposed_delivery": request.proposed_delivery,
            "reason": request.reason,
            "state": "open",
        },
    )


async def raise_for_rejected_revision(uow: UnitOfWork, po: PartyOrder, revision: int, reason: str) -> PartyChangeRequest:
    """The party rejected a revision of its order: an open change request for staff at the customer order."""
    request = PartyChangeRequest(
        party_order_id=po.id or 0,
        order_id=po.order_id,
        party_id=po.party_id,
        nature="requested",
        kind="other",
        reason=f"Rejected revision {revision}: {reason}",
        state="open",
        raised_by=uow.actor.name,
        created_at=uow.now,
    )
    uow.session.add(request)
    await uow.session.flush()
    touch(uow, po)
    record_raised(uow, po, request)
    return request


async def resolve_change_request(uow: UnitOfWork, request_id: int, accept: bool, note: str | None) -> PartyChangeRequest:
    """Accept (the party order's dates change and the customer order is re-dated) or reject with a note."""
    request = await uow.session.get(PartyChangeRequest, request_id)
    if request is None:
        raise not_found("Change request", request_id)
    _, po = await load_party_order(uow, request.party_order_id)
    await uow.session.refresh(request)
    note_text = v.text(note, "note")
    if not accept and not note_text:
        raise InvalidInput("Rejecting a change request needs a note saying why.", field="note")
    if request.state != "open":
        raise InvalidTransition(f"Change request {request_id} is {request.state} already.", current=request.state)
    if accept and not states.PARTY_ORDER.is_open(po.state):
        raise InvalidTransition(f"Party order {po.id} is {po.state}; its change request can only be rejected.")
    request.state = "accepted" if accept else "rejected"
    request.resolution_note, request.resolved_by, request.resolved_at = note_text, uow.actor.name, uow.now
    before = {"expected_delivery": po.expected_delivery, "committed_delivery": po.committed_delivery}
    redated = accept and request.kind == "deliveryDate"
    if redated:
        po.expected_delivery = po.committed_delivery = request.proposed_delivery
    touch(uow, po)
    record(
        uow,
        po,
        "partyChangeResolved",
        entity="partyChangeRequest",
        entity_id=request.id,
        before={"state": "open", **(before if redated else {})},
        after={
            "state": request.state,
            **({"expected_delivery": po.expected_delivery, "committed_delivery": po.committed_delivery} if redated else {}),
        },
        data={"note": note_text},
    )
    return request
