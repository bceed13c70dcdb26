"""Partners see their own party's events, with partner-visible fields only; the rules are declared once, per event type."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, strategies as st
from sqlalchemy import func, select
from sqlmodel import col

from app.auth import SYSTEM, Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database, as_loaded
from app.event_visibility import EVENT_TYPES, UndeclaredEventType, Viewer, partner_fields, visible_event, visible_payload
from app.events import Event
from app.main import create_app
from tests.api import Api
from tests.conftest import START, issue_token
from tests.factories import iso
from tests.launcher import serve_app
from tests.live import EVENT_FIELDS, subscribe, wait_until
from tests.party import (
    ACK,
    CHANGE,
    CHECK_IN,
    COMPLETE,
    MILESTONE,
    REPORT,
    RESOLVE,
    UPDATE_PO,
    create_party,
    key,
    order_with_party_items,
    partner_api,
    requisition,
)

APP = Path(__file__).resolve().parent.parent / "app"
PARTY = f"subscription($partyId: ID, $after: String) {{ partyOrderEvents(partyId: $partyId, after: $after) {{ {EVENT_FIELDS} summary }} }}"
SECRETS = ("Bo Secret", "off the record")  # what staff wrote in their check-in


def _constants(tree: ast.Module) -> dict[str, str]:
    return {
        t.id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
        for t in n.targets
        if isinstance(t, ast.Name)
    }


def _types_in(node: ast.expr, constants: dict[str, str]) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[a-z]+[A-Z]\w*|[a-z]+", node.value):
        return {node.value}
    if isinstance(node, ast.Name) and node.id in constants:
        return {constants[node.id]}
    if isinstance(node, ast.IfExp):
        return _types_in(node.body, constants) | _types_in(node.orelse, constants)
    return set()


def recorded_types() -> set[str]:
    """Every event type a module of the service passes to a ``record`` call, or writes into the event table itself."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        source = path.read_text()
        tree = ast.parse(source)
        constants = _constants(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) in (
                "record",
                "_record",
            ):
                for arg in node.args:
                    found |= {t for t in _types_in(arg, constants) if t not in ("uow",)}
            # A state machine's state changes are recorded by StateMachine.transition, as the type it declares.
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "machine":
                found |= {
                    k.value.value
                    for k in node.keywords
                    if k.arg == "event" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)
                }
        # Statements that append events without UnitOfWork.record: SQL and bulk loads.
        found |= set(re.findall(r"INSERT INTO event \([^)]*\)\s*SELECT [^,]*, [^,]*, '(\w+)'", source))
        found |= set(re.findall(r'events\.append\(\(\d+, \w+, "(\w+)"', source))
    return found


def test_every_event_type_the_service_records_is_declared_and_every_declaration_is_used() -> None:
    found = recorded_types()
    assert {"partyCheckInRecorded", "escalated", "escalationLowered", "partyProgressReported", "apiTokenRevoked"} <= found
    assert found - set(EVENT_TYPES) == set(), "record these types' visibility in app/event_visibility.py"
    assert set(EVENT_TYPES) - found == set(), "declared types nothing records"


async def test_recording_an_undeclared_event_type_fails_and_stores_nothing(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(UndeclaredEventType):
        async with db.write(SYSTEM, clock.now()) as uow:
            uow.record("orderTeleported", entity="order", entity_id=1, order_id=1)
    async with db.read() as session:
        assert (await session.execute(select(func.count()).select_from(Event))).scalar() == 0


def _event(event_type: str, data: dict[str, Any], party_id: int | None = 7, actor_role: str = "staff") -> Event:
    return as_loaded(
        Event,
        {
            "seq": 1,
            "at": START,
            "type": event_type,
            "entity": "partyOrder",
            "entity_id": 1,
            "order_id": 3,
            "party_order_id": 1,
            "party_id": party_id,
            "actor": "sam.staff",
            "actor_role": actor_role,
            "data": data,
        },
    )


FIELD = st.one_of(st.sampled_from(sorted({f for t in EVENT_TYPES.values() for f in t.fields})), st.text(min_size=1, max_size=12))
VALUES = st.dictionaries(FIELD, st.one_of(st.none(), st.integers(), st.text(max_size=8)), max_size=8)


@given(event_type=st.sampled_from(sorted(EVENT_TYPES)), before=VALUES, after=VALUES, details=VALUES)
def test_a_partner_view_of_any_event_holds_partner_visible_fields_only(
    event_type: str, before: dict[str, Any], after: dict[str, Any], details: dict[str, Any]
) -> None:
    event = _event(event_type, {**details, "before": before, "after": after})
    allowed = partner_fields(event_type)
    shown = visible_event(event, Viewer(Role.PARTNER, 7))
    if EVENT_TYPES[event_type].partner is None:
        assert shown is None
    else:
        assert shown is not None
        assert set(shown.data["before"]) <= allowed and set(shown.data["after"]) <= allowed
        assert {k for k in shown.data if k not in ("before", "after")} <= allowed
        assert shown.actor == "staff" and shown.order_id is None  # never a staff name, never the customer order
    assert visible_event(event, Viewer(Role.PARTNER, 8)) is None  # another party's: nothing
    assert visible_event(event, Viewer(Role.PARTNER, None)) is None
    assert visible_event(event, Viewer(Role.STAFF)) is event and visible_event(event, Viewer(Role.VIEWER)) is event
    payload = visible_payload(event, Viewer(Role.PARTNER, 7))
    assert (payload is None) == (shown is None)


def test_a_partner_sees_its_own_actions_by_name_and_staff_ones_by_role() -> None:
    own = visible_event(
        _event("partyProgressReported", {"after": {"percent_complete": 40}}, actor_role="partner"), Viewer(Role.PARTNER, 7)
    )
    staff = visible_event(_event("partyOrderUpdated", {"after": {"note": "call back"}}), Viewer(Role.PARTNER, 7))
    assert own is not None and own.actor == "sam.staff"  # the partner's own token name (here the fixture's)
    assert staff is not None and staff.actor == "staff"
    assert Viewer(Role.PARTNER, 7).visibility_class != Viewer(Role.STAFF).visibility_class == Viewer(Role.VIEWER).visibility_class


@pytest.fixture
async def served(db: Database, clock: FrozenClock) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, bus_poll_interval_seconds=0.5, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    async with serve_app(app) as address, httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        yield address, http


def _leaks(events: list[dict[str, Any]], partner_name: str) -> list[str]:
    """What of these events a partner must not have: enterprise types and fields, staff names, customer order ids."""
    found = []
    for e in events:
        allowed = partner_fields(e["type"])
        fields = set(e["before"]) | set(e["after"]) | set(e["details"])
        if EVENT_TYPES[e["type"]].partner is None or not fields <= allowed:
            found.append(f"{e['type']}: {sorted(fields - allowed)}")
        if e["actor"] not in ("staff", "system", partner_name) or e["orderId"] is not None:
            found.append(f"{e['type']} by {e['actor']} on order {e['orderId']}")
        found += [f"{e['type']} carries {s!r}" for s in SECRETS if s in json.dumps(e)]
        if "sam.staff" in e["summary"] or not e["summary"]:  # the sentence is made from the partner's view only
            found.append(f"{e['type']} says {e['summary']!r}")
    return found


async def test_a_partner_gets_its_party_orders_events_without_staff_check_ins_escalations_or_names_live_and_on_replay(
    served: tuple[str, httpx.AsyncClient], db: Database, clock: FrozenClock
) -> None:
    address, http = served
    now = clock.now()
    staff = Api(http, await issue_token(db, clock, Role.STAFF, "sam.staff"))
    fibre = await create_party(staff)
    partner = await partner_api(http, db, clock, fibre["id"])
    order = await order_with_party_items(staff, now, fibre["id"])
    start = (await staff.ok("{ eventLogCursor }"))["eventLogCursor"]
    live = await subscribe(address, partner.token, PARTY, {"after": start})
    desk = await subscribe(address, staff.token, PARTY, {"partyId": fibre["id"], "after": start})
    try:
        (po,) = await requisition(staff, order["id"])
        await partner.ok(
            ACK,
            {
                "id": po["id"],
                "key": key(),
                "input": {"partyReference": "F-1", "committedDeliveryDate": iso(now + timedelta(days=20))},
            },
        )
        await staff.ok(
            CHECK_IN,
            {
                "id": po["id"],
                "input": {
                    "at": iso(now),
                    "withWhom": SECRETS[0],
                    "outcome": SECRETS[1],
                    "newExpectedDeliveryDate": iso(now + timedelta(days=22)),
                },
            },
        )
        await staff.ok(MILESTONE, {"id": po["id"], "input": {"name": "survey", "plannedDate": iso(now + timedelta(days=3))}})
        await staff.ok(UPDATE_PO, {"id": po["id"], "version": 4, "input": {"note": "priority customer"}})
        await staff.ok(
            'mutation($id: ID!) { escalatePartyOrder(id: $id, level: 1, reason: "supplier silent") { escalationLevel } }',
            {"id": po["id"]},
        )
        await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 40, "note": "trenching"}})
        change = await partner.ok(
            CHANGE,
            {
                "id": po["id"],
                "key": key(),
                "input": {
                    "nature": "FORCED",
                    "kind": "DELIVERY_DATE",
                    "reason": "strike",
                    "proposedDeliveryDate": iso(now + timedelta(days=25)),
                },
            },
        )
        await staff.ok(RESOLVE, {"id": change["requestPartyOrderChange"]["id"], "decision": "ACCEPT", "note": "ok"})
        await partner.ok(COMPLETE, {"id": po["id"], "key": key()})

        def completed(sub: Any) -> bool:
            return "partyOrderCompleted" in [e["type"] for e in sub.events]

        await wait_until(lambda: completed(live) and completed(desk), timeout=15, what="the completion on both streams")
        replay = await subscribe(address, partner.token, PARTY, {"after": start})
        await wait_until(lambda: completed(replay), timeout=15, what="the replay to reach the completion")
    finally:
        for sub in (live, desk):
            await sub.close()
    await replay.close()

    partner_name = f"partner-{fibre['id']}"
    staff_types = [e["type"] for e in desk.events]
    assert {"partyCheckInRecorded", "partyOrderUpdated", "partyMilestonePlanned"} <= set(staff_types)
    check_in = next(e for e in desk.events if e["type"] == "partyCheckInRecorded")
    assert check_in["details"]["with_whom"] == SECRETS[0] and check_in["actor"] == "sam.staff"
    for seen in (live.events, replay.events):
        types = [e["type"] for e in seen]
        assert "partyCheckInRecorded" not in types and "escalated" not in types
        assert types == [t for t in staff_types if EVENT_TYPES[t].partner is not None]  # the rest, in the same order
        assert _leaks(seen, partner_name) == []
        assert {e["actor"] for e in seen if e["actorRole"] == "partner"} == {partner_name}
        assert {e["actor"] for e in seen if e["actorRole"] == "staff"} == {"staff"}
    assert [e["sequence"] for e in replay.events] == [e["sequence"] for e in live.events]
    said = [e["summary"] for e in live.events]
    assert f"{fibre['name']} reported 40% done: “trenching”" in said
    assert any(s.startswith(f"{fibre['name']}'s change request accepted: delivery moved from ") for s in said), said
    check_in_said = next(e["summary"] for e in desk.events if e["type"] == "partyCheckInRecorded")
    assert SECRETS[1] in check_in_said  # staff read the whole check-in; the partner never got the event

    # What the service stored carries only the fields its type declares (the declarations are complete).
    async with db.read() as session:
        stored = list((await session.execute(select(Event).order_by(col(Event.seq)))).scalars())
    undeclared = {
        (e.type, k)
        for e in stored
        for k in {*e.data.get("before", {}), *e.data.get("after", {}), *e.data}
        if k not in ("before", "after") and k not in EVENT_TYPES[e.type].fields
    }
    assert undeclared == set(), sorted(undeclared)
