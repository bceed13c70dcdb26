"""The direct lane answers a plain progress report exactly as normal execution would, and gives way for
everything else (errors, other documents, other tokens), so every answer and error stays the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from app.clock import FrozenClock
from app.db import Database
from app.graphql.direct_lane import DirectLane
from app.observability import metrics
from tests.api import Api
from tests.factories import iso
from tests.jeopardy_support import monitor
from tests.party import REPORT, acknowledge, create_party, order_with_party_items, partner_api, requisition

LEAVES = """__typename id partyId state stateReason neededBy partyReference committedDeliveryDate expectedDeliveryDate
  pct: percentComplete note acknowledgedAt deliveredAt lastReportAt nextReportDue jeopardyLevel jeopardyReason
  escalationLevel version createdAt updatedAt"""
PLAIN = f"""mutation Report($id: ID!, $key: String!, $input: ProgressReportInput!) {{
  r: reportPartyOrderProgress(id: $id, idempotencyKey: $key, input: $input) {{ {LEAVES} }} }}"""
READ = f"query($id: ID!) {{ partyOrder(id: $id) {{ {LEAVES} }} }}"


def _counted(operation: str) -> float:
    """Mutations counted under ``operation``'s label (``other`` once the process has seen too many names)."""
    labels = {"operation": metrics.operation_label(operation), "type": "mutation"}
    return metrics.REGISTRY.get_sample_value("ordertrack_graphql_requests_total", labels) or 0.0


async def _reporting(staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock) -> tuple[Api, str]:
    party = await create_party(staff)
    partner = await partner_api(http, db, clock, party["id"])
    order = await order_with_party_items(staff, clock.now(), party["id"])
    (po,) = await requisition(staff, order["id"])
    await acknowledge(partner, po["id"], clock.now())
    await partner.ok(REPORT, {"id": po["id"], "key": "first", "input": {"percentComplete": 5}})  # now in progress
    assert (await monitor(db, clock).sweep()).led  # its check times stored, as the monitor does
    return partner, po["id"]


async def test_a_plain_report_is_answered_as_normal_execution_would(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, lane: list[bool]
) -> None:
    partner, po_id = await _reporting(staff, http, db, clock)
    lane.clear()
    counted = _counted("Report")
    answer = (await partner.ok(PLAIN, {"id": po_id, "key": "plain-1", "input": {"percentComplete": 30, "note": "trench dug"}}))[
        "r"
    ]
    assert lane == [not db.is_sqlite]  # the lane's quick write runs on PostgreSQL only
    assert _counted("Report") == counted + 1  # in the operation metrics, on the lane or not
    read = (await partner.ok(READ, {"id": po_id}))["partyOrder"]
    assert answer == read
    assert (answer["__typename"], answer["state"], answer["pct"], answer["jeopardyLevel"]) == (
        "PartyOrder",
        "IN_PROGRESS",
        30,
        read["jeopardyLevel"],
    )
    retried = (await partner.ok(PLAIN, {"id": po_id, "key": "plain-1", "input": {"percentComplete": 30, "note": "trench dug"}}))[
        "r"
    ]
    assert retried == answer and lane[-1] is False  # a seen key: normal execution replays the first result


async def test_anything_unusual_gives_way_to_normal_execution_with_its_usual_error(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, lane: list[bool]
) -> None:
    partner, po_id = await _reporting(staff, http, db, clock)
    lane.clear()
    cases = [
        (staff, {"id": po_id, "key": "s-1", "input": {"percentComplete": 10}}, "FORBIDDEN"),
        (partner, {"id": po_id, "key": "p-1", "input": {"percentComplete": 101}}, "INVALID_INPUT"),
        (partner, {"id": "999999", "key": "p-2", "input": {"percentComplete": 10}}, "NOT_FOUND"),
        (partner, {"id": "x", "key": "p-3", "input": {"percentComplete": 10}}, "INVALID_INPUT"),
        (partner, {"id": po_id, "key": " ", "input": {"percentComplete": 10}}, "INVALID_INPUT"),
        (partner, {"id": po_id, "key": "p-4", "input": {}}, "INVALID_INPUT"),
        (partner, {"id": po_id, "key": "first", "input": {"percentComplete": 6}}, "IDEMPOTENCY_MISMATCH"),
    ]
    for api, variables, code in cases:
        assert await api.code(PLAIN, variables) == code, variables
    body = await partner.send(PLAIN, {"id": po_id, "key": "p-5", "input": {"percentComplete": "ten"}})
    assert body["errors"] and body.get("data") is None
    assert not any(lane)
    moved = (
        await partner.ok(
            PLAIN, {"id": po_id, "key": "p-6", "input": {"expectedDeliveryDate": iso(clock.now() + timedelta(days=9))}}
        )
    )["r"]
    assert moved["expectedDeliveryDate"] == iso(clock.now() + timedelta(days=9)).replace("Z", "+00:00") and lane[-1] is False


def test_only_one_plain_mutation_field_with_leaf_selections_takes_the_lane(app: Any) -> None:
    direct: DirectLane = next(r.app for r in app.routes if getattr(r, "path", "") == "/graphql").direct
    args = 'id: "1", idempotencyKey: "k", input: {percentComplete: 1}'
    assert direct._plan(f"mutation {{ reportPartyOrderProgress({args}) {{ id version }} }}") is not None
    for refused in [
        f"mutation {{ reportPartyOrderProgress({args}) {{ id lines {{ productRef }} }} }}",  # nested objects
        f"mutation {{ reportPartyOrderProgress({args}) {{ ...F }} }} fragment F on PartyOrder {{ id }}",
        f"mutation {{ reportPartyOrderProgress({args}) {{ id @include(if: true) }} }}",
        f"mutation {{ a: reportPartyOrderProgress({args}) {{ id }} b: reportPartyOrderProgress({args}) {{ id }} }}",
        'mutation { rejectPartyOrder(id: "1", idempotencyKey: "k", reason: "r") { id } }',  # not registered
        'query { partyOrder(id: "1") { id } }',
        f"mutation {{ reportPartyOrderProgress({args}) {{ id nope }} }}",  # invalid
        f"mutation {{ reportPartyOrderProgress({args}) {{ {' '.join(f'a{n}: id' for n in range(40))} }} }}",  # too many
    ]:
        assert direct._plan(refused) is None, refused
