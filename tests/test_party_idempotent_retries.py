"""A party's retries: the same key and request give the first result and record nothing twice."""

from __future__ import annotations

import asyncio
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
    COMPLETE,
    CONFIRM,
    REJECT,
    REPORT,
    create_party,
    get_po,
    order_with_party_items,
    partner_api,
    requisition,
    snapshot_tables,
)


async def _setup(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, n: int = 1
) -> tuple[Api, list[dict[str, Any]]]:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    pos = []
    for _ in range(n):
        order = await order_with_party_items(staff, clock.now(), party["id"])
        pos += await requisition(staff, order["id"])
    return partner, pos


async def _twice(api: Api, db: Database, query: str, variables: dict[str, Any]) -> None:
    first = await api.ok(query, variables)
    before = await snapshot_tables(db)
    again = await api.ok(query, variables)
    assert again == first
    assert await snapshot_tables(db) == before


async def test_every_partner_operation_retried_with_its_key_returns_the_first_result_and_records_nothing_twice(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    partner, (po, other, gone) = await _setup(staff, http, db, clock, n=3)
    ack = {"partyReference": "R-1", "committedDeliveryDate": iso(now + timedelta(days=9))}
    await _twice(partner, db, ACK, {"id": po["id"], "key": "ack-1", "input": ack})
    await _twice(partner, db, REPORT, {"id": po["id"], "key": "rep-1", "input": {"percentComplete": 10, "note": "started"}})
    await _twice(
        partner,
        db,
        CHANGE,
        {"id": po["id"], "key": "chg-1", "input": {"nature": "REQUESTED", "kind": "OTHER", "reason": "swap the cable type"}},
    )
    await _twice(partner, db, REJECT, {"id": other["id"], "key": "rej-1", "reason": "no capacity"})
    await partner.ok(ACK, {"id": gone["id"], "key": "ack-2", "input": ack})
    await staff.ok(CANCEL_PO, {"id": gone["id"], "reason": "not needed"})
    await _twice(partner, db, CONFIRM, {"id": gone["id"], "key": "cnf-1"})
    await _twice(partner, db, COMPLETE, {"id": po["id"], "key": "done-1"})
    seen = await get_po(partner, po["id"])
    assert seen is not None
    assert len(seen["progressReports"]) == 1 and len(seen["changeRequests"]) == 1


async def test_a_retried_report_after_later_changes_returns_the_party_order_without_a_second_report(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    partner, (po,) = await _setup(staff, http, db, clock)
    await partner.ok(
        ACK,
        {
            "id": po["id"],
            "key": "a",
            "input": {"partyReference": "R", "committedDeliveryDate": iso(clock.now() + timedelta(days=5))},
        },
    )
    await partner.ok(REPORT, {"id": po["id"], "key": "r1", "input": {"percentComplete": 10}})
    await partner.ok(REPORT, {"id": po["id"], "key": "r2", "input": {"percentComplete": 50}})
    retried = (await partner.ok(REPORT, {"id": po["id"], "key": "r1", "input": {"percentComplete": 10}}))[
        "reportPartyOrderProgress"
    ]
    assert [r["percentComplete"] for r in retried["progressReports"]] == [10, 50]
    assert retried["percentComplete"] == 50


async def test_the_same_key_with_a_different_request_is_refused_and_changes_nothing(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    partner, (po, other) = await _setup(staff, http, db, clock, n=2)
    await partner.ok(
        ACK,
        {
            "id": po["id"],
            "key": "k",
            "input": {"partyReference": "R", "committedDeliveryDate": iso(clock.now() + timedelta(days=5))},
        },
    )
    await partner.ok(REPORT, {"id": po["id"], "key": "k2", "input": {"percentComplete": 10}})
    before = await snapshot_tables(db)
    attempts = [
        (REPORT, {"id": po["id"], "key": "k2", "input": {"percentComplete": 11}}),  # other payload
        (REPORT, {"id": po["id"], "key": "k", "input": {"percentComplete": 10}}),  # other operation
        (
            ACK,
            {
                "id": other["id"],
                "key": "k",
                "input": {"partyReference": "R", "committedDeliveryDate": iso(clock.now() + timedelta(days=5))},
            },
        ),  # other order
    ]
    for query, variables in attempts:
        error = await partner.error(query, variables)
        assert error["extensions"]["code"] == "IDEMPOTENCY_MISMATCH", error
        assert error["extensions"]["field"] == "idempotencyKey"
    assert await snapshot_tables(db) == before


async def test_keys_belong_to_one_party_so_two_parties_may_use_the_same_key(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    partner_a, (po_a,) = await _setup(staff, http, db, clock)
    partner_b, (po_b,) = await _setup(staff, http, db, clock)
    ack = {"partyReference": "R", "committedDeliveryDate": iso(clock.now() + timedelta(days=5))}
    a = (await partner_a.ok(ACK, {"id": po_a["id"], "key": "same", "input": ack}))["acknowledgePartyOrder"]
    b = (await partner_b.ok(ACK, {"id": po_b["id"], "key": "same", "input": ack}))["acknowledgePartyOrder"]
    assert a["state"] == b["state"] == "ACKNOWLEDGED"


async def test_two_concurrent_retries_with_one_key_record_the_report_once(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    partner, (po,) = await _setup(staff, http, db, clock)
    await partner.ok(
        ACK,
        {
            "id": po["id"],
            "key": "a",
            "input": {"partyReference": "R", "committedDeliveryDate": iso(clock.now() + timedelta(days=5))},
        },
    )
    variables = {"id": po["id"], "key": "twice", "input": {"percentComplete": 35, "note": "sent twice by a flaky link"}}
    first, second = await asyncio.gather(partner.ok(REPORT, variables), partner.ok(REPORT, variables))
    assert first == second
    seen = await get_po(partner, po["id"])
    assert seen is not None and [r["percentComplete"] for r in seen["progressReports"]] == [35]
