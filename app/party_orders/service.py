"""What enterprise staff do with party orders: parties, requisitions, feedback, status, check-ins, cancel."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app import validation as v
from app.db import UnitOfWork
from app.errors import Conflict, InvalidInput, InvalidTransition
from app.events import diff
from app.orders import states as order_states
from app.orders.core import get_order_for_update
from app.orders.models import CustomerOrder, OrderItem
from app.party_orders import states
from app.party_orders.core import (
    cancel_or_ask,
    load_party_order,
    move_party_order,
    record,
    snapshot,
    touch,
)
from app.party_orders.models import Party, PartyCheckIn, PartyMilestone, PartyOrder, PartyOrderItem

MAX_INTERVAL_HOURS = 24 * 90
MAX_MILESTONES = 50


@dataclass
class NewParty:
    name: str
    kind: str
    reporting_interval_hours: int


@dataclass
class PartyOrderChanges:
    """Information taken from the party's feedback; fields left None are kept."""

    party_ref: str | None = None
    committed_delivery: datetime | None = None
    expected_delivery: datetime | None = None
    needed_by: datetime | None = None
    note: str | None = None


@dataclass
class NewCheckIn:
    at: datetime
    with_whom: str
    outcome: str
    new_expected_delivery: datetime | None = None


@dataclass
class NewMilestone:
    name: str
    planned_date: datetime


@dataclass
class Requisition:
    """Explicit items for one party; without ``item_ids`` every party item of the order is requested."""

    party_id: int | None = None
    item_ids: list[int] = field(default_factory=list)
    needed_by: datetime | None = None


async def create_party(uow: UnitOfWork, data: NewParty) -> Party:
    name = v.required_text(data.name, "name")
    if data.kind not in states.PARTY_KINDS:
        raise InvalidInput("kind must be supplier or partner.", field="kind")
    if not 1 <= data.reporting_interval_hours <= MAX_INTERVAL_HOURS:
        raise InvalidInput(f"reportingIntervalHours must be between 1 and {MAX_INTERVAL_HOURS}.", field="reportingIntervalHours")
    if (await uow.session.execute(select(col(Party.id)).where(col(Party.name) == name))).scalar_one_or_none() is not None:
        raise Conflict(f"A party named '{name}' exists already.", field="name")
    party = Party(name=name, kind=data.kind, reporting_interval_hours=data.reporting_interval_hours, created_at=uow.now)
    uow.session.add(party)
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A party named '{name}' exists already.", field="name") from exc
    uow.record(
        "partyCreated",
        entity="party",
        entity_id=party.id or 0,
        party_id=party.id,
        after={"name": name, "kind": data.kind, "reporting_interval_hours": data.reporting_interval_hours},
    )
    return party


def _needed_by(order: CustomerOrder, given: datetime | None, now: datetime) -> datetime:
    if given is None:
        return order.committed_date
    v.future(given, "neededBy", now)
    if given > order.committed_date:
        raise InvalidInput("neededBy cannot be later than the customer order's committed date.", field="neededBy")
    return given


async def _requested_items(uow: UnitOfWork, order_id: int) -> set[int]:
    """Items already delivered by a live (not cancelled or rejected) party order."""
    rows = await uow.session.execute(
        select(col(PartyOrderItem.item_id))
        .join(PartyOrder, col(PartyOrder.id) == col(PartyOrderItem.party_order_id))
        .where(col(PartyOrderItem.order_id) == order_id, col(PartyOrder.state).not_in(states.DROPPED))
    )
    return set(rows.scalars())


async def request_party_orders(uow: UnitOfWork, order_id: int, req: Requisition) -> list[PartyOrder]:
    """Initiate a requisition: one party order per party for the order's party-fulfilled items.

    Items already covered by a live party order are skipped, so running it again creates nothing twice.
    """
    order = await get_order_for_update(uow, order_id)
    if order.state not in order_states.OPEN_ORDER:
        raise InvalidTransition(f"Customer order {order_id} is {order.state}; nothing can be ordered from parties.")
    needed_by = _needed_by(order, req.needed_by, uow.now)
    items = {i.id: i for i in (await uow.session.execute(select(OrderItem).where(col(OrderItem.order_id) == order_id))).scalars()}
    taken = await _requested_items(uow, order_id)
    if req.item_ids:
        if req.party_id is None:
            raise InvalidInput("Name the party that delivers the items.", field="partyId")
        for item_id in req.item_ids:
            item = items.get(item_id)
            if item is None:
                raise InvalidInput(f"Item {item_id} is not an item of customer order {order_id}.", field="itemIds")
            if item.fulfillment != "party":  # named items may go to another party than their own (it rejected, say)
                raise InvalidInput(f"Item {item_id} is not fulfilled by a party.", field="itemIds")
            if item_id in taken:
                raise Conflict(f"Item {item_id} is already ordered from a party.", field="itemIds")
            if not order_states.ITEM.is_open(item.state):
                raise InvalidInput(f"Item {item_id} is {item.state}.", field="itemIds")
        chosen = [items[i] for i in dict.fromkeys(req.item_ids)]
    else:
        chosen = [
            i
            for i in items.values()
            if i.fulfillment == "party"
            and i.party_id is not None
            and i.id not in taken
            and order_states.ITEM.is_open(i.state)
            and (req.party_id is None or i.party_id == req.party_id)
        ]
    groups: dict[int, list[OrderItem]] = defaultdict(list)
    for item in sorted(chosen, key=lambda i: i.id or 0):
        groups[req.party_id if req.item_ids else item.party_id].append(item)  # type: ignore[index]  # chosen items all name a party (filtered above)
    created = []
    for party_id, group in sorted(groups.items()):
        if await uow.session.get(Party, party_id) is None:
            raise InvalidInput(f"Party {party_id} does not exist.", field="partyId")
        po = PartyOrder(
            order_id=order_id,
            party_id=party_id,
            state=states.PARTY_ORDER.initial,
            needed_by=needed_by,
            needed_by_given=needed_by < order.committed_date,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(po)
        await uow.session.flush()
        for item in group:
            uow.session.add(PartyOrderItem(party_order_id=po.id or 0, item_id=item.id or 0, order_id=order_id))
        record(
            uow,
            po,
            "partyOrderCreated",
            after={
                **snapshot(po),
                "items": [{"item_id": i.id, "product_ref": i.product_ref, "quantity": i.quantity} for i in group],
            },
        )
        created.append(po)
    await uow.session.flush()
    return created


async def update_party_order(
    uow: UnitOfWork, party_order_id: int, expected_version: int, changes: PartyOrderChanges
) -> PartyOrder:
    """Modify party order information from the feedback received from the party."""
    order, po = await load_party_order(uow, party_order_id, expected_version=expected_version)
    if not states.PARTY_ORDER.is_open(po.state):
        raise InvalidTransition(f"Party order {party_order_id} is {po.state}; it can no longer be changed.")
    before = snapshot(po)
    if changes.party_ref is not None:
        po.party_ref = v.required_text(changes.party_ref, "partyReference", max_len=128)
    if changes.committed_delivery is not None:
        po.committed_delivery = v.future(changes.committed_delivery, "committedDeliveryDate", uow.now)
    if changes.expected_delivery is not None:
        po.expected_delivery = v.future(changes.expected_delivery, "expectedDeliveryDate", uow.now)
    if changes.needed_by is not None:
        po.needed_by = _needed_by(order, changes.needed_by, uow.now)
        po.needed_by_given = po.needed_by < order.committed_date  # the committed date itself: follow it
    if changes.note is not None:
        po.note = v.text(changes.note, "note")
    old, new = diff(before, snapshot(po))
    if not new:
        raise InvalidInput("The change sets nothing new.", field="input")
    touch(uow, po)
    record(uow, po, "partyOrderUpdated", before=old, after=new)
    return po


async def complete(
    uow: UnitOfWork, order: CustomerOrder, po: PartyOrder, note: str | None, delivered_at: datetime | None = None
) -> None:
    """Delivered: the party order completes, then its items and (by roll-up) the customer order."""
    when = delivered_at or uow.now
    if when > uow.now or when < po.created_at:
        raise InvalidInput("deliveredAt must lie between the party order's creation and now.", field="deliveredAt")
    move_party_order(uow, po, "completed", note)
    po.delivered_at, po.percent_complete = when, 100
    # Its own event, so that closing processes (Close Party Order) can follow deliveries alone.
    record(
        uow,
        po,
        "partyOrderCompleted",
        after={"delivered_at": when, "party_ref": po.party_ref},
        data={
            "item_ids": list(
                (
                    await uow.session.execute(
                        select(col(PartyOrderItem.item_id))
                        .where(col(PartyOrderItem.party_order_id) == po.id)
                        .order_by(col(PartyOrderItem.item_id))
                    )
                ).scalars()
            )
        },
    )


async def change_party_order_state(
    uow: UnitOfWork, party_order_id: int, target: str, reason: str | None, expected_version: int | None = None
) -> PartyOrder:
    order, po = await load_party_order(uow, party_order_id, expected_version=expected_version)
    reason = v.text(reason, "reason", max_len=1000)
    if target in ("cancelled", "pendingCancellation"):
        raise InvalidInput("Use cancelPartyOrder to cancel a party order.", field="state")
    if target in ("held", "failed", "rejected") and not reason:
        raise InvalidInput(f"Moving a party order to {target} needs a reason.", field="reason")
    if target == "completed":
        states.PARTY_ORDER.check(po.state, target)
        await complete(uow, order, po, reason)
        return po
    move_party_order(uow, po, target, reason)
    return po


async def cancel_party_order(
    uow: UnitOfWork, party_order_id: int, reason: str, expected_version: int | None = None
) -> PartyOrder:
    """Cancel a party order no longer required: at once if the party has not acknowledged, else ask it."""
    _order, po = await load_party_order(uow, party_order_id, expected_version=expected_version)
    reason_text = v.required_text(reason, "reason", max_len=1000)
    cancel_or_ask(uow, po, reason_text)
    return po


async def record_check_in(uow: UnitOfWork, party_order_id: int, data: NewCheckIn) -> PartyCheckIn:
    """An enterprise-driven interaction: when, with whom, the outcome, maybe a new expected date."""
    _, po = await load_party_order(uow, party_order_id)
    at = v.aware(data.at, "at")
    assert at is not None
    if at > uow.now or at < po.created_at:
        raise InvalidInput("at must lie between the party order's creation and now.", field="at")
    new_date = v.future(data.new_expected_delivery, "newExpectedDeliveryDate", uow.now) if data.new_expected_delivery else None
    if new_date is not None and not states.PARTY_ORDER.is_open(po.state):
        raise InvalidTransition(f"Party order {party_order_id} is {po.state}; its dates no longer change.")
    check_in = PartyCheckIn(
        party_order_id=po.id or 0,
        at=at,
        with_whom=v.required_text(data.with_whom, "withWhom"),
        outcome=v.required_text(data.outcome, "outcome", max_len=v.MAX_TEXT),
        new_expected_delivery=new_date,
        recorded_by=uow.actor.name,
        recorded_at=uow.now,
    )
    uow.session.add(check_in)
    await uow.session.flush()
    before = {"expected_delivery": po.expected_delivery}
    if new_date is not None:
        po.expected_delivery = new_date
    touch(uow, po)
    record(
        uow,
        po,
        "partyCheckInRecorded",
        entity="partyCheckIn",
        entity_id=check_in.id,
        before=before if new_date else None,
        after={"expected_delivery": new_date} if new_date else None,
        data={"at": at, "with_whom": check_in.with_whom, "outcome": check_in.outcome},
    )
    return check_in


async def add_milestones(uow: UnitOfWork, po: PartyOrder, milestones: list[NewMilestone]) -> list[PartyMilestone]:
    existing = len(
        list(
            (
                await uow.session.execute(select(col(PartyMilestone.id)).where(col(PartyMilestone.party_order_id) == po.id))
            ).scalars()
        )
    )
    if existing + len(milestones) > MAX_MILESTONES:
        raise InvalidInput(f"A party order has at most {MAX_MILESTONES} milestones.", field="milestones")
    rows = []
    for m in milestones:
        row = PartyMilestone(
            party_order_id=po.id or 0,
            name=v.required_text(m.name, "milestones.name"),
            planned_date=v.future(m.planned_date, "milestones.plannedDate", uow.now),
            created_at=uow.now,
        )
        uow.session.add(row)
        await uow.session.flush()
        record(
            uow,
            po,
            "partyMilestonePlanned",
            entity="partyMilestone",
            entity_id=row.id,
            after={"name": row.name, "planned_date": row.planned_date},
        )
        rows.append(row)
    return rows


async def plan_milestone(uow: UnitOfWork, party_order_id: int, data: NewMilestone) -> PartyMilestone:
    _, po = await load_party_order(uow, party_order_id)
    if not states.PARTY_ORDER.is_open(po.state):
        raise InvalidTransition(f"Party order {party_order_id} is {po.state}; its plan no longer changes.")
    (row,) = await add_milestones(uow, po, [data])
    touch(uow, po)
    return row
