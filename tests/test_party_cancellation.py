"""Cancelling party orders: one no longer required, and the cascade from a cancelled customer order."""

from __future__ import annotations

import httpx

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.party import (
    CANCEL_ORDER,
    CANCEL_PO,
    CONFIRM,
    ORDER_TREE,
    acknowledge,
    create_party,
    key,
    order_with_party_items,
    partner_api,
    requisition,
    visible_po,
)


async def test_cancelling_a_customer_order_cancels_unacknowledged_party_orders_and_asks_the_others(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    a, b = await create_party(staff), await create_party(staff)
    partner_a = await partner_api(http, db, clock, a["id"])
    order = await order_with_party_items(staff, now, a["id"], b["id"])
    po_a, po_b = await requisition(staff, order["id"])
    await acknowledge(partner_a, po_a["id"], now)

    cancelled = (await staff.ok(CANCEL_ORDER, {"id": order["id"], "reason": "sales request withdrawn"}))["cancelCustomerOrder"]
    assert cancelled["state"] == "PENDING_CANCELLATION"  # until party A confirms
    assert (await visible_po(staff, po_a["id"]))["state"] == "PENDING_CANCELLATION"
    assert (await visible_po(staff, po_b["id"]))["state"] == "CANCELLED"

    confirmed = await partner_a.ok(CONFIRM, {"id": po_a["id"], "key": key(), "note": "crew stood down"})
    assert confirmed["confirmPartyOrderCancellation"]["state"] == "CANCELLED"
    tree = (await staff.ok(ORDER_TREE, {"id": order["id"]}))["customerOrder"]
    assert tree["state"] == "CANCELLED"
    assert tree["stateReason"] == "every party confirmed the cancellation"
    assert {i["state"] for i in tree["items"]} == {"CANCELLED"}
    assert {p["state"] for p in tree["partyOrders"]} == {"CANCELLED"}


async def test_a_customer_order_with_only_unacknowledged_party_orders_is_cancelled_at_once(
    staff: Api, clock: FrozenClock
) -> None:
    party = await create_party(staff)
    order = await order_with_party_items(staff, clock.now(), party["id"])
    (po,) = await requisition(staff, order["id"])
    cancelled = (await staff.ok(CANCEL_ORDER, {"id": order["id"], "reason": "sales request withdrawn"}))["cancelCustomerOrder"]
    assert cancelled["state"] == "CANCELLED"
    assert (await visible_po(staff, po["id"]))["state"] == "CANCELLED"


async def test_a_party_order_no_longer_required_is_cancelled_and_the_customer_order_goes_on(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    a, b = await create_party(staff), await create_party(staff)
    partner_a = await partner_api(http, db, clock, a["id"])
    order = await order_with_party_items(staff, now, a["id"], b["id"])
    po_a, po_b = await requisition(staff, order["id"])
    acked = await acknowledge(partner_a, po_a["id"], now)

    unacked = (await staff.ok(CANCEL_PO, {"id": po_b["id"], "reason": "customer dropped the second site"}))["cancelPartyOrder"]
    assert unacked["state"] == "CANCELLED" and unacked["stateReason"] == "customer dropped the second site"
    asked = (await staff.ok(CANCEL_PO, {"id": po_a["id"], "reason": "sourced internally", "version": acked["version"]}))[
        "cancelPartyOrder"
    ]
    assert asked["state"] == "PENDING_CANCELLATION"
    await partner_a.ok(CONFIRM, {"id": po_a["id"], "key": key()})
    assert (await visible_po(partner_a, po_a["id"]))["state"] == "CANCELLED"
    tree = (await staff.ok(ORDER_TREE, {"id": order["id"]}))["customerOrder"]
    assert tree["state"] == "IN_PROGRESS"  # the customer order itself is still wanted
    # The items can be ordered again from a party.
    again = await requisition(staff, order["id"])
    assert sorted(line["productRef"] for po in again for line in po["lines"]) == ["DARK-FIBRE-1", "DARK-FIBRE-2"]
