"""An amendment followed live from outside: over real websockets (gql client, real uvicorn), the
desk sees each change once and in order, each party sees its own revision and its answer and nothing
else of the customer order, and the order's timeline tells the same events in the same sentences.

One server per database: the one test below makes every check on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.event_visibility import partner_fields
from app.main import create_app
from tests.amend import ACK_REVISION, REJECT_REVISION, amend, item, tree
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order
from tests.launcher import serve_app
from tests.live import EVENT_FIELDS, Subscriber, log_cursor, subscribe, wait_until
from tests.party import REPORT, acknowledge, create_party, key, partner_api, requisition

FIELDS = f"{EVENT_FIELDS} summary"
ORDER_EVENTS = f"subscription($id: ID!, $after: String) {{ orderEvents(orderId: $id, after: $after) {{ {FIELDS} }} }}"
PARTY_EVENTS = f"subscription($after: String) {{ partyOrderEvents(after: $after) {{ {FIELDS} }} }}"
TIMELINE = f"query($id: ID!, $after: String) {{ orderTimeline(orderId: $id, first: 100, after: $after) {{ edges {{ node {{ {FIELDS} }} }} }} }}"
NOTE = "mutation($id: ID!, $text: String!) { addOrderNote(orderId: $id, text: $text) { id } }"
# What an amendment records, each change its own event (the rest of a write, reconciliation, is not the test's).
AMENDMENT_TYPES = frozenset({"orderAmended", "itemAdded", "itemModified", "itemRemoved", "partyOrderRevised"})


@pytest.fixture
async def address(db: Database, clock: FrozenClock) -> AsyncIterator[str]:
    settings = Settings(_env_file=None, database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False)
    async with serve_app(create_app(settings, db=db, clock=clock)) as served:
        yield served


def steps(events: list[dict[str, Any]]) -> list[tuple[str, str | None, Any]]:
    """The amendment's own events as (type, party order, revision told), in the order they came."""
    return [
        (e["type"], e["partyOrderId"], e["after"].get("revision", e["details"].get("revision")))
        for e in events
        if e["type"] in AMENDMENT_TYPES
    ]


def assert_partner_sees_only_its_own(events: list[dict[str, Any]], po_id: str, others: list[str]) -> None:
    """Its own party order's events, once each and in order, of partner-visible types, with the declared partner fields only."""
    sequences = [e["sequence"] for e in events]
    assert sequences == sorted(set(sequences)), "an event came twice or out of order"
    for e in events:
        allowed = partner_fields(e["type"])
        assert allowed, f"{e['type']} is not for partners"
        assert (e["partyOrderId"], e["orderId"]) == (po_id, None), e
        assert set(e["before"]) | set(e["after"]) | set(e["details"]) <= allowed, (e["type"], e)
        assert "order_revision" not in e["details"]  # the customer order's revision stays the enterprise's
        for word in others:
            assert word not in e["summary"], e["summary"]


async def test_an_amendment_reaches_the_desk_each_party_and_the_timeline_once_and_in_order(
    address: str, db: Database, clock: FrozenClock
) -> None:
    now = clock.now()
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        staff = Api(http, await issue_token(db, clock, Role.STAFF, "desk"))
        fibreco, towerco = await create_party(staff, name="FibreCo"), await create_party(staff, name="TowerCo")
        fibre_partner = await partner_api(http, db, clock, fibreco["id"])
        tower_partner = await partner_api(http, db, clock, towerco["id"])
        order = await create_order(
            staff,
            now,
            items=[
                {"productRef": "FIBRE-LINE", "fulfillment": "PARTY", "partyId": fibreco["id"], "quantity": 2},
                {"productRef": "TOWER-LINE", "fulfillment": "PARTY", "partyId": towerco["id"], "quantity": 2},
                {"productRef": "IP-BLOCK", "quantity": 1},
            ],
        )
        pos = {po["partyId"]: po["id"] for po in await requisition(staff, order["id"])}
        fibre_po, tower_po = pos[fibreco["id"]], pos[towerco["id"]]
        await acknowledge(fibre_partner, fibre_po, now)
        await acknowledge(tower_partner, tower_po, now)
        current = await tree(staff, order["id"])
        fibre, tower, ip = (item(current, ref)["id"] for ref in ("FIBRE-LINE", "TOWER-LINE", "IP-BLOCK"))

        head = await log_cursor(address, staff.token)
        assert head is not None
        desk = await subscribe(address, staff.token, ORDER_EVENTS, {"id": order["id"], "after": head})
        fibre_sub = await subscribe(address, fibre_partner.token, PARTY_EVENTS, {"after": head})
        tower_sub = await subscribe(address, tower_partner.token, PARTY_EVENTS, {"after": head})
        subscribers: list[Subscriber] = [desk, fibre_sub, tower_sub]
        try:
            # Revision 1 of the order: TowerCo's line only. Revision 2: every kind of change, both parties.
            current = await amend(staff, current, modify=[{"itemId": tower, "quantity": 3}])
            await amend(
                staff,
                current,
                add=[{"item": {"productRef": "SECOND-LINE", "quantity": 1}}],
                modify=[
                    {"itemId": fibre, "quantity": 5, "characteristics": [{"name": "colour", "value": "blue"}]},
                    {"itemId": tower, "quantity": 4},
                ],
                remove=[{"itemId": ip, "reason": "customer has its own addresses"}],
            )
            await fibre_partner.ok(ACK_REVISION, {"id": fibre_po, "revision": 1, "key": key()})
            await tower_partner.ok(REJECT_REVISION, {"id": tower_po, "revision": 2, "key": key(), "reason": "only 3 masts free"})
            # Last, one event for each stream: events come in order, so what a stream let through came before.
            await fibre_partner.ok(REPORT, {"id": fibre_po, "key": key(), "input": {"percentComplete": 30}})
            await tower_partner.ok(REPORT, {"id": tower_po, "key": key(), "input": {"percentComplete": 10}})
            await staff.ok(NOTE, {"id": order["id"], "text": "last"})
            for sub, last in ((desk, "noteAdded"), (fibre_sub, "partyProgressReported"), (tower_sub, "partyProgressReported")):
                await wait_until(
                    lambda sub=sub, last=last: bool(sub.events) and sub.events[-1]["type"] == last,
                    what=f"{last} ({len(sub.events)} events so far; {sub.errors or sub.failure})",
                )

            # The desk: every change of both revisions, in order, once, each told as a sentence.
            assert desk.sequences == sorted(set(desk.sequences)), "an event came twice or out of order"
            assert {e["orderId"] for e in desk.events} == {order["id"]}
            first, second = sorted([fibre_po, tower_po], key=int)
            assert steps(desk.events) == [
                ("itemModified", None, 1),
                ("partyOrderRevised", tower_po, 1),
                ("orderAmended", None, 1),
                ("itemAdded", None, 2),
                ("itemModified", None, 2),
                ("itemModified", None, 2),
                ("partyOrderRevised", first, 1 if first == fibre_po else 2),
                ("partyOrderRevised", second, 1 if second == fibre_po else 2),
                ("itemRemoved", None, 2),
                ("orderAmended", None, 2),
            ]
            said = [e["summary"] for e in desk.events]
            assert all(said), said
            for sentence in (
                "Order amended to revision 1: 1 item changed",
                "Order amended to revision 2: 1 item added, 2 items changed, 1 item removed",
                "Item SECOND-LINE added in revision 2",
                "FibreCo's party order sent revision 1 to acknowledge: FIBRE-LINE ×5",
                "TowerCo's party order sent revision 1 to acknowledge: TOWER-LINE ×3",
                "TowerCo's party order sent revision 2 to acknowledge: TOWER-LINE ×4",
                "FibreCo acknowledged revision 1 of its party order",
            ):
                assert said.count(sentence) == 1, (sentence, said)
            assert any(s.startswith("Item FIBRE-LINE changed") and s.endswith("in revision 2") for s in said), said
            assert any(s.startswith("Item IP-BLOCK removed in revision 2") for s in said), said
            assert any(s.startswith("TowerCo rejected revision 2 of its party order") for s in said), said
            amended = next(e for e in desk.events if e["type"] == "orderAmended" and e["after"] == {"revision": 2})
            added = item(await tree(staff, order["id"]), "SECOND-LINE")["id"]
            assert amended["details"] == {"added": [int(added)], "modified": [int(fibre), int(tower)], "removed": [int(ip)]}

            # FibreCo: its revision (its changed line only), its answer, its report; nothing else of the amendment.
            assert [e["type"] for e in fibre_sub.events] == [
                "partyOrderRevised",
                "partyOrderRevisionAcknowledged",
                "partyOrderStateChanged",  # its first report starts the work
                "partyProgressReported",
            ]
            revised = fibre_sub.events[0]
            assert revised["after"]["revision"] == 1 and revised["after"]["state"] == "open"
            assert [
                (line["item_id"], line["change"], line["quantity"], line["previous_quantity"])
                for line in revised["after"]["lines"]
            ] == [(int(fibre), "modify", 5, 2)]
            assert revised["summary"] == "FibreCo's party order sent revision 1 to acknowledge: FIBRE-LINE ×5"
            assert fibre_sub.events[1]["after"] == {"state": "acknowledged", "revision": 1}
            assert_partner_sees_only_its_own(fibre_sub.events, fibre_po, ["TowerCo", "TOWER", "revision 2"])

            # TowerCo: both its revisions, then its rejection with its reason.
            assert [e["type"] for e in tower_sub.events] == [
                "partyOrderRevised",
                "partyOrderRevised",
                "partyChangeRequested",  # the rejection, raised as its change request for staff
                "partyOrderRevisionRejected",
                "partyOrderStateChanged",
                "partyProgressReported",
            ]
            assert [e["after"]["revision"] for e in tower_sub.events[:2]] == [1, 2]
            assert tower_sub.events[3]["after"] == {"state": "rejected", "revision": 2}
            assert tower_sub.events[3]["details"] == {"reason": "only 3 masts free"}
            assert_partner_sees_only_its_own(tower_sub.events, tower_po, ["FibreCo", "FIBRE", "IP-BLOCK", "SECOND-LINE"])

            # The timeline the dashboard reads: the same events, the same sentences.
            page = await staff.ok(TIMELINE, {"id": order["id"], "after": head})
            timeline = [e["node"] for e in page["orderTimeline"]["edges"]]
            assert [(e["sequence"], e["type"], e["summary"]) for e in timeline] == [
                (e["sequence"], e["type"], e["summary"]) for e in desk.events
            ]
        finally:
            for sub in subscribers:
                await sub.close()
