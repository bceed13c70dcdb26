"""What an amendment would do, computed in a transaction that is rolled back (as the jeopardy dry run is).

The effects are read off the events the amendment and its reconciliation record, the same events a
committed amendment leaves in the log: ``effects_of`` summarises either, so a preview can be compared
with what the commit then did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.auth import Actor
from app.db import Database
from app.errors import AmendmentNotAllowed
from app.orders.amendment import Amendment, Refusal, amend_order
from app.orders.models import CustomerOrder


@dataclass
class AmendmentEffects:
    """What moved, by kind; new items by product (their ids are not known before the commit)."""

    added_items: list[str] = field(default_factory=list)
    modified_items: list[int] = field(default_factory=list)
    removed_items: list[int] = field(default_factory=list)
    rescheduled_activities: list[int] = field(default_factory=list)
    cancelled_activities: list[int] = field(default_factory=list)
    supplemented_requests: list[int] = field(default_factory=list)
    cancelled_requests: list[int] = field(default_factory=list)
    revised_party_orders: list[int] = field(default_factory=list)
    cancelled_party_orders: list[int] = field(default_factory=list)
    cancellation_requested_party_orders: list[int] = field(default_factory=list)


@dataclass
class AmendmentPreview:
    allowed: bool
    refusals: list[Refusal]
    effects: AmendmentEffects
    revision: int
    expected_completion: datetime | None
    jeopardy_level: str
    jeopardy_reason: str | None


def effects_of(events: Iterable[Mapping[str, Any]]) -> AmendmentEffects:
    """The effects of one amendment's transaction, from its events (``type``, ``entity_id``, ``party_order_id``, ``data``)."""
    out = AmendmentEffects()
    for e in events:
        kind, ident, after = e["type"], e["entity_id"], (e["data"] or {}).get("after", {})
        state = after.get("state")
        if kind == "itemAdded":
            out.added_items.append(after["product_ref"])
        elif kind == "itemModified":
            out.modified_items.append(ident)
        elif kind == "itemRemoved":
            out.removed_items.append(ident)
        elif kind == "activityRescheduled":
            out.rescheduled_activities.append(ident)
        elif kind == "activityStateChanged" and state == "cancelled":
            out.cancelled_activities.append(ident)
        elif kind == "serviceOrderSupplemented":
            out.supplemented_requests.append(ident)
        elif kind == "serviceOrderStateChanged" and state == "cancelled":
            out.cancelled_requests.append(ident)
        elif kind == "partyOrderRevised":
            out.revised_party_orders.append(e["party_order_id"])
        elif kind == "partyOrderStateChanged" and state == "cancelled":
            out.cancelled_party_orders.append(ident)
        elif kind == "partyOrderCancellationRequested":
            out.cancellation_requested_party_orders.append(ident)
    for name, values in vars(out).items():
        setattr(out, name, sorted(values))
    return out


async def preview_amendment(db: Database, actor: Actor, now: datetime, order_id: int, data: Amendment) -> AmendmentPreview:
    """The amendment applied and reconciled, read, then rolled back: nothing is committed or published."""
    async with db.trial(actor, now) as uow:
        try:
            await amend_order(uow, order_id, None, data)
        except AmendmentNotAllowed as exc:
            order = await uow.session.get(CustomerOrder, order_id)
            assert order is not None
            refusals = [Refusal(int(r["itemId"]), r["reason"]) for r in exc.details["refusals"]]
            return AmendmentPreview(
                False,
                refusals,
                AmendmentEffects(),
                order.revision,
                order.expected_completion,
                order.jeopardy_level,
                order.jeopardy_reason,
            )
        await uow.settle()
        order = await uow.session.get(CustomerOrder, order_id)
        assert order is not None
        return AmendmentPreview(
            True,
            [],
            effects_of(uow.pending),
            order.revision,
            order.expected_completion,
            order.jeopardy_level,
            order.jeopardy_reason,
        )
