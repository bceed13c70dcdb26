"""Bad input on every party order operation gets a clear error code and leaves the database unchanged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from app.db import Database
from tests.api import Api
from tests.factories import iso
from tests.party import (
    ACK,
    CANCEL_PO,
    CHANGE,
    CHECK_IN,
    COMPLETE,
    CONFIRM,
    CREATE_PARTY,
    MILESTONE,
    REJECT,
    REPORT,
    REQUEST,
    RESOLVE,
    STATE_PO,
    UPDATE_PO,
    acknowledge,
    create_party,
    key,
    order_with_party_items,
    partner_api,
    requisition,
    snapshot_tables,
    visible_po,
)

LONG = "x" * 2001


async def _refused(api: Api, db: Database, cases: list[tuple[str, str, dict[str, Any], str]]) -> None:
    before = await snapshot_tables(db)
    for name, query, variables, code in cases:
        error = await api.error(query, variables)
        assert error["extensions"].get("code") == code, (name, error)
        assert error["message"], name
    assert await snapshot_tables(db) == before


async def test_staff_bad_input_is_refused_and_changes_nothing(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff, name="Fibre Co")
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, now, party["id"], days=30)
    (po,) = await requisition(staff, order["id"])
    acked = await acknowledge(partner, po["id"], now, days=20)
    change = await partner.ok(
        CHANGE, {"id": po["id"], "key": key(), "input": {"nature": "REQUESTED", "kind": "OTHER", "reason": "r"}}
    )
    cr_id = change["requestPartyOrderChange"]["id"]
    past, soon = iso(now - timedelta(days=1)), iso(now + timedelta(days=5))
    version = (await visible_po(staff, po["id"]))["version"]
    assert version > acked["version"]  # the change request moved it on
    await _refused(
        staff,
        db,
        [
            ("unknown order", REQUEST, {"input": {"orderId": "424242"}}, "NOT_FOUND"),
            ("bad id", REQUEST, {"input": {"orderId": "abc"}}, "INVALID_INPUT"),
            ("needed-by in the past", REQUEST, {"input": {"orderId": order["id"], "neededBy": past}}, "INVALID_INPUT"),
            (
                "needed-by after the committed date",
                REQUEST,
                {"input": {"orderId": order["id"], "neededBy": iso(now + timedelta(days=31))}},
                "INVALID_INPUT",
            ),
            (
                "item of another order",
                REQUEST,
                {"input": {"orderId": order["id"], "partyId": party["id"], "itemIds": ["999"]}},
                "INVALID_INPUT",
            ),
            (
                "item ordered already",
                REQUEST,
                {"input": {"orderId": order["id"], "partyId": party["id"], "itemIds": [order["items"][0]["id"]]}},
                "CONFLICT",
            ),
            (
                "duplicate party",
                CREATE_PARTY,
                {"input": {"name": "Fibre Co", "kind": "SUPPLIER", "reportingIntervalHours": 4}},
                "CONFLICT",
            ),
            (
                "zero interval",
                CREATE_PARTY,
                {"input": {"name": "New", "kind": "SUPPLIER", "reportingIntervalHours": 0}},
                "INVALID_INPUT",
            ),
            ("unknown party order", UPDATE_PO, {"id": "5555", "version": 1, "input": {"note": "n"}}, "NOT_FOUND"),
            ("stale version", UPDATE_PO, {"id": po["id"], "version": version - 1, "input": {"note": "n"}}, "CONFLICT"),
            ("oversized note", UPDATE_PO, {"id": po["id"], "version": version, "input": {"note": LONG}}, "INVALID_INPUT"),
            (
                "expected date in the past",
                UPDATE_PO,
                {"id": po["id"], "version": version, "input": {"expectedDeliveryDate": past}},
                "INVALID_INPUT",
            ),
            ("nothing new", UPDATE_PO, {"id": po["id"], "version": version, "input": {}}, "INVALID_INPUT"),
            ("illegal transition", STATE_PO, {"id": po["id"], "state": "PENDING_CANCELLATION"}, "INVALID_INPUT"),
            ("back to acknowledged", STATE_PO, {"id": po["id"], "state": "ACKNOWLEDGED"}, "INVALID_TRANSITION"),
            ("held without reason", STATE_PO, {"id": po["id"], "state": "HELD"}, "INVALID_INPUT"),
            ("stale state change", STATE_PO, {"id": po["id"], "state": "IN_PROGRESS", "version": 1}, "CONFLICT"),
            ("cancel without reason", CANCEL_PO, {"id": po["id"], "reason": "  "}, "INVALID_INPUT"),
            (
                "check-in in the future",
                CHECK_IN,
                {"id": po["id"], "input": {"at": soon, "withWhom": "Jo", "outcome": "ok"}},
                "INVALID_INPUT",
            ),
            (
                "check-in before the order",
                CHECK_IN,
                {"id": po["id"], "input": {"at": past, "withWhom": "Jo", "outcome": "ok"}},
                "INVALID_INPUT",
            ),
            (
                "check-in oversized outcome",
                CHECK_IN,
                {"id": po["id"], "input": {"at": iso(now), "withWhom": "Jo", "outcome": LONG}},
                "INVALID_INPUT",
            ),
            (
                "check-in new date in the past",
                CHECK_IN,
                {"id": po["id"], "input": {"at": iso(now), "withWhom": "Jo", "outcome": "ok", "newExpectedDeliveryDate": past}},
                "INVALID_INPUT",
            ),
            ("milestone in the past", MILESTONE, {"id": po["id"], "input": {"name": "m", "plannedDate": past}}, "INVALID_INPUT"),
            ("unknown change request", RESOLVE, {"id": "8888", "decision": "ACCEPT"}, "NOT_FOUND"),
            ("reject without note", RESOLVE, {"id": cr_id, "decision": "REJECT"}, "INVALID_INPUT"),
            ("oversized resolution", RESOLVE, {"id": cr_id, "decision": "ACCEPT", "note": LONG}, "INVALID_INPUT"),
        ],
    )


async def test_partner_bad_input_is_refused_and_changes_nothing(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, now, party["id"], party["id"])
    (po,) = await requisition(staff, order["id"])
    past, later = iso(now - timedelta(hours=1)), iso(now + timedelta(days=9))
    await _refused(
        partner,
        db,
        [
            (
                "report before acknowledging",
                REPORT,
                {"id": po["id"], "key": key(), "input": {"percentComplete": 5}},
                "INVALID_TRANSITION",
            ),
            ("complete before acknowledging", COMPLETE, {"id": po["id"], "key": key()}, "INVALID_TRANSITION"),
            ("confirm a cancellation nobody asked", CONFIRM, {"id": po["id"], "key": key()}, "INVALID_TRANSITION"),
            (
                "committed date in the past",
                ACK,
                {"id": po["id"], "key": key(), "input": {"partyReference": "R", "committedDeliveryDate": past}},
                "INVALID_INPUT",
            ),
            (
                "empty reference",
                ACK,
                {"id": po["id"], "key": key(), "input": {"partyReference": " ", "committedDeliveryDate": later}},
                "INVALID_INPUT",
            ),
            (
                "empty key",
                ACK,
                {"id": po["id"], "key": "", "input": {"partyReference": "R", "committedDeliveryDate": later}},
                "INVALID_INPUT",
            ),
            (
                "oversized key",
                ACK,
                {"id": po["id"], "key": "k" * 129, "input": {"partyReference": "R", "committedDeliveryDate": later}},
                "INVALID_INPUT",
            ),
            (
                "milestone in the past",
                ACK,
                {
                    "id": po["id"],
                    "key": key(),
                    "input": {
                        "partyReference": "R",
                        "committedDeliveryDate": later,
                        "milestones": [{"name": "m", "plannedDate": past}],
                    },
                },
                "INVALID_INPUT",
            ),
            ("oversized rejection", REJECT, {"id": po["id"], "key": key(), "reason": LONG}, "INVALID_INPUT"),
        ],
    )
    acked = await acknowledge(partner, po["id"], now)
    await _refused(
        partner,
        db,
        [
            (
                "acknowledge twice",
                ACK,
                {"id": po["id"], "key": key(), "input": {"partyReference": "R", "committedDeliveryDate": later}},
                "INVALID_TRANSITION",
            ),
            (
                "reject after acknowledging",
                REJECT,
                {"id": po["id"], "key": key(), "reason": "changed my mind"},
                "INVALID_TRANSITION",
            ),
            ("percent over 100", REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 101}}, "INVALID_INPUT"),
            (
                "expected date in the past",
                REPORT,
                {"id": po["id"], "key": key(), "input": {"expectedDeliveryDate": past}},
                "INVALID_INPUT",
            ),
            ("oversized note", REPORT, {"id": po["id"], "key": key(), "input": {"note": LONG}}, "INVALID_INPUT"),
            ("empty report", REPORT, {"id": po["id"], "key": key(), "input": {}}, "INVALID_INPUT"),
            ("unknown milestone", REPORT, {"id": po["id"], "key": key(), "input": {"milestoneId": "777"}}, "INVALID_INPUT"),
            (
                "date change without a date",
                CHANGE,
                {"id": po["id"], "key": key(), "input": {"nature": "FORCED", "kind": "DELIVERY_DATE", "reason": "r"}},
                "INVALID_INPUT",
            ),
            (
                "proposed date in the past",
                CHANGE,
                {
                    "id": po["id"],
                    "key": key(),
                    "input": {"nature": "FORCED", "kind": "DELIVERY_DATE", "reason": "r", "proposedDeliveryDate": past},
                },
                "INVALID_INPUT",
            ),
            (
                "oversized reason",
                CHANGE,
                {"id": po["id"], "key": key(), "input": {"nature": "FORCED", "kind": "OTHER", "reason": LONG}},
                "INVALID_INPUT",
            ),
            (
                "delivered before the order",
                COMPLETE,
                {"id": po["id"], "key": key(), "deliveredAt": iso(now - timedelta(days=1))},
                "INVALID_INPUT",
            ),
            ("delivered in the future", COMPLETE, {"id": po["id"], "key": key(), "deliveredAt": later}, "INVALID_INPUT"),
        ],
    )
    assert acked["state"] == "ACKNOWLEDGED"


async def test_closed_party_orders_and_resolved_requests_refuse_further_changes(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, now, party["id"])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], now)
    change = await partner.ok(
        CHANGE, {"id": po["id"], "key": key(), "input": {"nature": "REQUESTED", "kind": "OTHER", "reason": "r"}}
    )
    cr_id = change["requestPartyOrderChange"]["id"]
    await staff.ok(RESOLVE, {"id": cr_id, "decision": "REJECT", "note": "keep as ordered"})
    done = (await partner.ok(COMPLETE, {"id": po["id"], "key": key()}))["reportPartyOrderCompletion"]
    await _refused(
        staff,
        db,
        [
            ("resolve twice", RESOLVE, {"id": cr_id, "decision": "ACCEPT"}, "INVALID_TRANSITION"),
            ("reopen completed", STATE_PO, {"id": po["id"], "state": "IN_PROGRESS"}, "INVALID_TRANSITION"),
            ("cancel completed", CANCEL_PO, {"id": po["id"], "reason": "late idea"}, "INVALID_TRANSITION"),
            (
                "update completed",
                UPDATE_PO,
                {"id": po["id"], "version": done["version"], "input": {"note": "n"}},
                "INVALID_TRANSITION",
            ),
        ],
    )
    await _refused(
        partner,
        db,
        [
            (
                "report on completed",
                REPORT,
                {"id": po["id"], "key": key(), "input": {"percentComplete": 5}},
                "INVALID_TRANSITION",
            ),
            (
                "change on completed",
                CHANGE,
                {"id": po["id"], "key": key(), "input": {"nature": "FORCED", "kind": "OTHER", "reason": "r"}},
                "INVALID_TRANSITION",
            ),
        ],
    )
