"""The order timeline reads as sentences ("FibreCo moved its delivery from 21 Mar to 23 Mar"), for every
event type, and a partner's sentence never says what the partner may not see."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from hypothesis import given, settings, strategies as st

from app.clock import FrozenClock
from app.db import Database
from app.event_visibility import EVENT_TYPES, PARTNER, STAFF, EventView, Viewer, visible_event
from app.timeline.sentences import SENTENCES, sentence
from app.timeline.subjects import Subject, subjects_needed
from tests.api import Api
from tests.factories import iso, progress, schedule
from tests.party import REPORT, acknowledge, create_party, key, order_with_party_items, partner_api, requisition

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
TIMELINE = """query($id: ID!) { orderTimeline(orderId: $id, first: 100) { edges { node { type summary } } } }"""
PARTNER_TYPES = sorted(t for t, declared in EVENT_TYPES.items() if declared.partner is not None)
AT = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_every_declared_event_type_has_a_sentence() -> None:
    assert set(SENTENCES) == set(EVENT_TYPES)


async def summaries(api: Api, order_id: str) -> list[tuple[str, str]]:
    edges = (await api.ok(TIMELINE, {"id": order_id}))["orderTimeline"]["edges"]
    return [(e["node"]["type"], e["node"]["summary"]) for e in edges]


async def test_a_party_moving_its_delivery_and_an_install_starting_read_as_sentences(
    http: httpx.AsyncClient, db: Database, clock: FrozenClock, staff: Api
) -> None:
    now = clock.now()
    party = await create_party(staff, name="FibreCo")
    order = await order_with_party_items(staff, now, party["id"])
    install = await schedule(staff, order["id"], now, days=(1, 3), kind="install", workGroup="field-north")
    po = (await requisition(staff, order["id"]))[0]
    fibreco = await partner_api(http, db, clock, party["id"])
    await acknowledge(fibreco, po["id"], now, days=20)
    await fibreco.ok(
        REPORT,
        {"id": po["id"], "key": key(), "input": {"percentComplete": 40, "expectedDeliveryDate": iso(now + timedelta(days=22))}},
    )
    await progress(staff, install["id"], "IN_PROGRESS", percentComplete=10)

    timeline = await summaries(staff, order["id"])
    said = [s for _, s in timeline]
    assert "FibreCo moved its delivery from 21 Mar to 23 Mar (40% done)" in said
    assert "Install activity started (10% done)" in said
    assert "Install activity scheduled from 2 Mar to 4 Mar for field-north" in said
    assert "FibreCo acknowledged its order as SUP-1, committing to deliver by 21 Mar" in said
    assert f"Order {order['salesRequestRef']} taken for Acme Ltd, committed for 31 Mar" in said
    for kind, text in timeline:
        assert text and not SNAKE.search(text), (kind, text)


# --- Visibility: a partner's sentence is made from its view of the event and its own party's name ---

values = st.one_of(
    st.none(),
    st.integers(-5, 500),
    st.sampled_from(["open", "inProgress", "completed", "atRisk", "deliveryDate"]),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(timezone.utc)).map(
        datetime.isoformat
    ),
    st.text(st.characters(categories=["L", "N", "Zs"]), max_size=20),
    st.lists(st.integers(1, 9), max_size=3),
)


def _event(kind: str, fields: dict[str, Any], actor: str, role: str, party_id: int | None) -> EventView:
    names = sorted(fields)
    half = len(names) // 2
    data: dict[str, Any] = {
        "before": {n: fields[n] for n in names[:half]},
        "after": {n: fields[n] for n in names[half:]} | {"secret_extra": "SECRET-undeclared"},
        "reason": fields.get("reason"),
        "hidden_extra": "SECRET-undeclared",
    }
    return EventView(
        seq=1,
        at=AT,
        type=kind,
        entity="partyOrder",
        entity_id=7,
        order_id=99,
        party_order_id=7,
        party_id=party_id,
        actor=actor,
        actor_role=role,
        data=data,
    )


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(PARTNER_TYPES), data=st.data(), role=st.sampled_from([STAFF, PARTNER]))
def test_a_partners_sentence_never_says_what_is_hidden_from_it(kind: str, data: st.DataObject, role: str) -> None:
    fields = {name: data.draw(values, label=name) for name in EVENT_TYPES[kind].fields}
    event = _event(kind, fields, actor="SECRET-actor-name", role=role, party_id=3)
    partner = Viewer(PARTNER, party_id=3)
    shown = visible_event(event, partner)
    assert shown is not None
    needed = subjects_needed(shown, partner)
    assert needed == [Subject("party", 3)]
    names = {Subject("party", 3): "FibreCo", Subject("party", 4): "SECRET-other-party"}
    said = sentence(shown, names)
    assert said and "SECRET" not in said, said


def test_a_partner_gets_no_names_of_enterprise_subjects_nor_of_other_parties() -> None:
    activity = EventView(
        seq=1,
        at=AT,
        type="activityStateChanged",
        entity="activity",
        entity_id=5,
        order_id=1,
        party_order_id=None,
        party_id=None,
        actor="sam",
        actor_role=STAFF,
        data={"before": {}, "after": {}},
    )
    other = EventView(
        seq=2,
        at=AT,
        type="partyOrderStateChanged",
        entity="partyOrder",
        entity_id=8,
        order_id=1,
        party_order_id=8,
        party_id=4,
        actor="sam",
        actor_role=STAFF,
        data={"before": {}, "after": {}},
    )
    partner = Viewer(PARTNER, party_id=3)
    assert subjects_needed(activity, partner) == [] and subjects_needed(other, partner) == []
    assert subjects_needed(activity, Viewer(STAFF)) == [Subject("activity", 5)]
    assert subjects_needed(other, Viewer(STAFF)) == [Subject("party", 4)]


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(EVENT_TYPES)), data=st.data())
def test_every_event_type_reads_as_words_whatever_its_fields_hold(kind: str, data: st.DataObject) -> None:
    fields = {name: data.draw(values, label=name) for name in EVENT_TYPES[kind].fields}
    event = _event(kind, fields, actor="sam", role=STAFF, party_id=3)
    said = sentence(event, {Subject("party", 3): "FibreCo"})
    assert said.strip() and not SNAKE.search(said), said
    assert "{" not in said and "None" not in said
