"""What closed work teaches, on a history generated with known parameters, and the probability rule it feeds."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, text

from app.calendars.book import parse_calendars
from app.clock import FrozenClock
from app.db import Database
from app.forecast import learning
from app.jeopardy.policy import Policy, parse_policy
from app.orders.models import Activity, CustomerOrder
from app.party_orders.models import Party, PartyOrder
from tests.api import Api
from tests.conftest import START, RestartUnder
from tests.party import REPORT, acknowledge, create_party, key, order_with_party_items, partner_api, requisition

HOUR = timedelta(hours=1)
PAST = datetime(2026, 6, 1, 9, tzinfo=UTC)
WALL_CLOCK = parse_calendars(None).default


async def closed_history(
    db: Database,
    party_id: int,
    *,
    cases: int,
    late_share: float,
    mean_slip_hours: float,
    kind: str = "install",
    factor: tuple[float, float] = (1.0, 1.5),
    seed: int = 11,
) -> None:
    """Closed orders of the past: activities taking plan times U(factor), deliveries late with the share given."""
    rng = random.Random(seed)
    async with db.write_session() as session:
        order = CustomerOrder(
            sales_request_ref=f"SR-PAST-{party_id}",
            customer_id="C",
            customer_name="Past Ltd",
            priority="normal",
            state="completed",
            requested_at=PAST,
            committed_date=PAST,
            created_at=PAST,
            updated_at=PAST,
        )
        session.add(order)
        await session.flush()
        assert order.id is not None  # numbered by the flush
        for n in range(cases):
            start = PAST + n * 24 * HOUR
            took = 8 * rng.uniform(*factor)
            session.add(
                Activity(
                    order_id=order.id,
                    kind=kind,
                    state="completed",
                    planned_start=start,
                    planned_end=start + 8 * HOUR,
                    actual_start=start,
                    actual_end=start + took * HOUR,
                    work_group="field-ops",
                    updated_at=start,
                )
            )
            slip = rng.expovariate(1 / mean_slip_hours) if rng.random() < late_share else -rng.uniform(0, 4)
            session.add(
                PartyOrder(
                    order_id=order.id,
                    party_id=party_id,
                    state="completed",
                    needed_by=start,
                    committed_delivery=start,
                    delivered_at=start + slip * HOUR,
                    created_at=start,
                    updated_at=start,
                )
            )
        await session.commit()


async def a_party(db: Database, name: str) -> int:
    async with db.write_session() as session:
        party = Party(name=name, kind="supplier", reporting_interval_hours=48, created_at=PAST)
        session.add(party)
        await session.commit()
        assert party.id is not None
        return party.id


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_a_partys_reliability_and_an_activitys_durations_are_recovered_from_its_history(db: Database) -> None:
    party_id = await a_party(db, "FibreCo")
    await closed_history(db, party_id, cases=150, late_share=0.4, mean_slip_hours=12)
    async with db.read() as session:
        deliveries = learning.delivery_stats(await learning.party_history(session, party_id, WALL_CLOCK, 200))
        installs = await learning.activity_history(session, "install", "field-ops", WALL_CLOCK, 200)
        newest = await learning.party_history(session, party_id, WALL_CLOCK, 20)
    assert deliveries.samples == 150
    assert deliveries.on_time_rate == pytest.approx(0.6, abs=0.1)
    # Mean slip: 40% late by Exp(mean 12h), 60% early by U(0, 4h): 0.4 * 12 - 0.6 * 2 = 3.6h.
    assert deliveries.mean_slip_hours == pytest.approx(3.6, abs=1.8)
    stats = learning.duration_stats("install", "field-ops", installs)
    assert stats.samples == 150
    assert stats.mean_factor == pytest.approx(1.25, abs=0.04)
    assert stats.p90_factor == pytest.approx(1.45, abs=0.04)
    assert newest.count == 20  # bounded: the latest cases only


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_learned_durations_are_read_newest_first_from_the_completed_activities_index_alone(db: Database) -> None:
    party_id = await a_party(db, "FibreCo")
    await closed_history(db, party_id, cases=30, late_share=0.4, mean_slip_hours=12)
    async with db.write_session() as session:  # same kind and group, not completed: not history
        [order_id] = (await session.execute(select(CustomerOrder.id).limit(1))).scalars()  # type: ignore[call-overload]
        for state, end in (("cancelled", PAST + 2 * HOUR), ("inProgress", None)):
            session.add(
                Activity(
                    order_id=order_id,
                    kind="install",
                    state=state,
                    planned_start=PAST,
                    planned_end=PAST + HOUR,
                    actual_start=PAST,
                    actual_end=end,
                    work_group="field-ops",
                    updated_at=PAST,
                )
            )
        await session.commit()
    query = learning.activity_history_query("install", "field-ops", 200)
    async with db.read() as session:
        assert len((await session.execute(query)).all()) == 30
        installs = await learning.activity_history(session, "install", "field-ops", WALL_CLOCK, 200)
        if db.is_sqlite:
            sql = str(query.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}))  # type: ignore[union-attr]
            plan = " ".join(row[-1] for row in await session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        else:
            # As the service runs it: a prepared statement, whose generic plan knows no parameter's
            # value (a bound state could not prove the index's predicate), and whatever else the
            # planner could choose ruled out: a query that does not imply the predicate cannot use it.
            compiled = query.compile(dialect=session.bind.dialect)  # type: ignore[union-attr]
            values = ", ".join(
                f"'{v}'" if isinstance(v, str) else str(v) for v in (compiled.params[n] for n in compiled.positiontup or ())
            )
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                await session.execute(text(f"SET LOCAL {setting} = off"))
            await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
            await session.execute(text(f"PREPARE history AS {compiled}"))
            plan = " ".join(row[0] for row in await session.execute(text(f"EXPLAIN EXECUTE history({values})")))
    assert installs.count == 30
    assert "ix_activity_kind_group_done" in plan
    assert ("Index Scan Backward" in plan) if not db.is_sqlite else ("TEMP B-TREE" not in plan)  # read in order, never sorted
    assert "Filter" not in plan  # no row of it is read to be dropped: the index holds the history alone


UNLIKELY = """query($id: ID!) { customerOrder(id: $id) { jeopardyLevel jeopardyReason
  forecast { onTimeProbability basis computedAt criticalPath { kind name } }
  partyOrders { id forecast { deliveryP50 deliveryP90 onTimeProbability } party { deliveryStats { onTimeRate meanSlipHours samples } } } } }"""
DRY_RUN = "{ escalationDryRun { levelChanges { entity entityId toLevel reason } } }"


@pytest.fixture
def escalation_policy() -> Policy:
    """The service first runs without the probability rule."""
    return parse_policy({"at_risk_slack": 0.0})


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_an_order_waiting_on_an_unreliable_party_is_at_risk_and_the_reason_names_it(
    staff: Api, db: Database, http: httpx.AsyncClient, clock: FrozenClock, restart_under: RestartUnder
) -> None:
    party = await create_party(staff, name="FibreCo")
    # FibreCo delivers late 4 times in 10, by about two days.
    await closed_history(db, int(party["id"]), cases=30, late_share=0.4, mean_slip_hours=48, seed=3)
    order = await order_with_party_items(staff, START, party["id"], days=30)
    [po] = await requisition(staff, order["id"])
    partner = await partner_api(http, db, clock, party["id"])
    await acknowledge(partner, po["id"], START, days=29)  # one day before the committed date
    found = (await staff.ok(UNLIKELY, {"id": order["id"]}))["customerOrder"]
    forecast = found["forecast"]
    assert found["jeopardyLevel"] == "NONE"
    assert 0.4 < forecast["onTimeProbability"] < 0.8
    assert forecast["criticalPath"] == [{"kind": "partyOrder", "name": "FibreCo's delivery"}]
    assert forecast["basis"].startswith("history")
    [seen] = found["partyOrders"]
    stats = seen["party"]["deliveryStats"]
    assert stats["samples"] == 30 and 0.4 < stats["onTimeRate"] < 0.8 and stats["meanSlipHours"] > 0
    assert seen["forecast"]["onTimeProbability"] < 0.8

    # The service restarted under a policy file with the probability rule: the dry run shows what it changes.
    client = await restart_under(parse_policy({"at_risk_slack": 0.0, "at_risk_probability": 0.8}))
    staff, partner = Api(client, staff.token), Api(client, partner.token)
    [planned] = [c for c in (await staff.ok(DRY_RUN))["escalationDryRun"]["levelChanges"] if c["entity"] == "order"]
    late = round((1 - stats["onTimeRate"]) * 100)
    expected = (
        f"The forecast gives it a {round(forecast['onTimeProbability'] * 100)}% chance of meeting the committed date: "
        f"completion waits on FibreCo's delivery, which is late {late}% of the time."
    )
    assert (planned["entityId"], planned["toLevel"], planned["reason"]) == (order["id"], "AT_RISK", expected)

    # A report that moves no date: the levels are settled again, the forecast is not drawn again.
    await partner.ok(REPORT, {"id": po["id"], "key": key(), "input": {"percentComplete": 40}})
    after = (await staff.ok(UNLIKELY, {"id": order["id"]}))["customerOrder"]
    assert (after["jeopardyLevel"], after["jeopardyReason"]) == ("AT_RISK", expected)
    assert after["forecast"] == forecast
