"""The history generator writes closed orders whose event log shows the slip rates it was asked for."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app import cli
from app.audit import audit
from app.calendars.calendar import ALWAYS
from app.clock import FrozenClock
from app.columns import table_of
from app.consistency import reconciler
from app.db import Database
from app.events import Event
from app.forecast import learning
from app.history import HistorySpec, deal, generate_history, parse_rates
from app.jeopardy.policy import load_policy
from app.orders.models import CustomerOrder
from app.party_orders.models import Party

PARTY_SLIP = {"FibreCo": 0.5, "Reliable Ltd": 0.0}
KIND_SLIP = {"survey": 0.25, "install": 0.75}


def rates_in_the_event_log(events: list[Event]) -> tuple[dict[str, float], dict[str, float]]:
    """Late share per party and per activity kind, read from events alone (no table is consulted)."""
    party_names: dict[int, str] = {}
    committed: dict[int, datetime] = {}
    deliveries: dict[str, list[bool]] = defaultdict(list)
    plans: dict[int, tuple[str, datetime, datetime]] = {}
    started: dict[int, datetime] = {}
    durations: dict[str, list[bool]] = defaultdict(list)
    for e in events:
        after = e.data["after"]
        if e.type == "partyCreated":
            party_names[e.entity_id] = after["name"]
        elif e.type == "partyOrderAcknowledged":
            committed[e.entity_id] = datetime.fromisoformat(after["committed_delivery"])
        elif e.type == "partyOrderCompleted":
            delivered = datetime.fromisoformat(after["delivered_at"])
            deliveries[party_names[e.party_id or 0]].append(delivered > committed[e.entity_id])
        elif e.type == "activityScheduled":
            plans[e.entity_id] = (
                after["kind"],
                datetime.fromisoformat(after["planned_start"]),
                datetime.fromisoformat(after["planned_end"]),
            )
        elif e.type in ("activityProgressed", "activityStateChanged") and after.get("actual_start"):
            started[e.entity_id] = datetime.fromisoformat(after["actual_start"])
        if e.type in ("activityProgressed", "activityStateChanged") and after.get("state") == "completed":
            kind, begin, end = plans[e.entity_id]
            took = datetime.fromisoformat(after["actual_end"]) - started[e.entity_id]
            durations[kind].append(took > end - begin)
    return {p: sum(f) / len(f) for p, f in deliveries.items()}, {k: sum(f) / len(f) for k, f in durations.items()}


async def test_a_generated_history_shows_the_chosen_slip_rates_per_party_and_per_activity_kind(
    db: Database, clock: FrozenClock
) -> None:
    db.reconcile = reconciler(load_policy())
    orders = 4  # 2 per party, 4 per kind: the dealt rates are exact at these sizes
    ids = await generate_history(
        db, HistorySpec(orders=orders, party_slip=PARTY_SLIP, kind_slip=KIND_SLIP, seed=3), clock.now(), jobs=2
    )

    async with db.read() as session:
        events = list((await session.execute(select(Event).order_by(col(Event.seq)))).scalars())
        states = (await session.execute(select(col(CustomerOrder.state), func.count()).group_by(col(CustomerOrder.state)))).all()
    assert dict(states) == {"completed": orders} and len(ids) == orders
    assert max(e.at for e in events) < clock.now()
    by_party, by_kind = rates_in_the_event_log(events)
    for name, rate in PARTY_SLIP.items():
        assert abs(by_party[name] - rate) <= 1 / (orders / 2) / 2 + 1e-9, (name, by_party[name])
    for kind, rate in KIND_SLIP.items():
        assert abs(by_kind[kind] - rate) <= 1 / orders / 2 + 1e-9, (kind, by_kind[kind])
    assert (await audit(db)).ok

    # and the forecast's learner, reading the tables in wall-clock time, learns the same rates
    async with db.read() as session:
        parties = dict((await session.execute(select(table_of(Party).c.name, table_of(Party).c.id))).all())
        for name in PARTY_SLIP:
            stats = learning.delivery_stats(await learning.party_history(session, parties[name], ALWAYS, 100))
            assert stats.samples == orders // 2 and stats.on_time_rate == pytest.approx(1 - by_party[name])
        for kind in KIND_SLIP:
            history = await learning.activity_history(session, kind, "field-north", ALWAYS, 100)
            assert learning.duration_stats(kind, "field-north", history).late_rate == pytest.approx(by_kind[kind])


def test_slips_are_dealt_exactly_and_rates_are_parsed_strictly() -> None:
    import random

    flags = deal(10, 0.3, random.Random(1))
    assert sum(flags) == 3 and len(flags) == 10
    assert parse_rates(["FibreCo=0.3", "Big = Co=1"], "--party-slip") == {"FibreCo": 0.3, "Big = Co": 1.0}
    for bad in (["FibreCo"], ["=0.2"], ["FibreCo=1.5"], ["FibreCo=often"]):
        with pytest.raises(SystemExit, match="--party-slip"):
            parse_rates(bad, "--party-slip")


def test_the_generate_command_writes_a_history_with_the_rates_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/history.db")
    cli.get_settings.cache_clear()
    try:
        cli.main(["migrate"])
        cli.main(["generate", "--history", "2", "--party-slip", "FibreCo=0.5", "--kind-slip", "install=1"])
        with pytest.raises(SystemExit, match="--kind-slip"):
            cli.main(["generate", "--history", "2", "--kind-slip", "install"])
    finally:
        cli.get_settings.cache_clear()
    assert "2 closed orders in " in capsys.readouterr().out

    async def read() -> list[Event]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path}/history.db")
        try:
            async with db.read() as session:
                return list((await session.execute(select(Event).order_by(col(Event.seq)))).scalars())
        finally:
            await db.dispose()

    by_party, by_kind = rates_in_the_event_log(asyncio.run(read()))
    assert by_party == {"FibreCo": 0.5} and by_kind == {"install": 1.0}
