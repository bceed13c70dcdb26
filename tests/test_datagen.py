"""The bulk generator writes a data set the domain functions agree with."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlmodel import col

from app.auth import SYSTEM
from app.clock import FrozenClock
from app.consistency import reconcile
from app.datagen import Spec, generate
from app.db import Database
from app.events import Event, EventSequence
from app.jeopardy.policy import load_policy
from app.jeopardy.sweep import dry_run
from app.orders.models import (
    Activity,
    ActivityDependency,
    ActivityPartyDependency,
    CustomerOrder,
    OrderItem,
    ServiceOrderRequest,
)
from app.party_orders.models import PartyOrder, PartyOrderItem


async def count(db: Database, model: type) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_generated_orders_are_consistent_trees_with_one_summary_event_each(db: Database, clock: FrozenClock) -> None:
    await generate(db, Spec(orders=7, items=5, chunk=3, party_share=0.5, parties=2), clock.now())

    assert await count(db, CustomerOrder) == 7
    assert await count(db, OrderItem) == 35
    assert await count(db, Activity) == 35
    assert await count(db, ActivityDependency) == 28  # each order's five activities form a chain
    party_orders = await count(db, PartyOrder)
    assert 0 < party_orders < 7
    assert await count(db, PartyOrderItem) == party_orders
    assert await count(db, ServiceOrderRequest) == 35 - party_orders  # party items need no service order
    # The last item's activity waits on its party order (with five items it has not started yet).
    assert await count(db, ActivityPartyDependency) == party_orders
    async with db.read() as session:
        party_items = list(
            (
                await session.execute(select(OrderItem).join(PartyOrderItem, col(PartyOrderItem.item_id) == col(OrderItem.id)))
            ).scalars()
        )
        assert {i.fulfillment for i in party_items} == {"party"} and all(i.party_id for i in party_items)
        waiting = (
            await session.execute(
                select(col(Activity.item_id), col(Activity.state), col(PartyOrderItem.item_id))
                .join(ActivityPartyDependency, col(ActivityPartyDependency.activity_id) == col(Activity.id))
                .join(PartyOrderItem, col(PartyOrderItem.party_order_id) == col(ActivityPartyDependency.party_order_id))
            )
        ).all()
        assert all(own == delivered and state == "planned" for own, state, delivered in waiting)
        events = list((await session.execute(select(Event).order_by(col(Event.seq)))).scalars())
        orders = list((await session.execute(select(CustomerOrder))).scalars())
        assert [e.seq for e in events] == list(range(1, 10))  # two partyCreated, then one summary per order
        sequence = await session.get(EventSequence, 1)
        assert sequence is not None and sequence.last == 9
        summaries = [e for e in events if e.type == "orderCreated"]
        assert Counter(e.order_id for e in summaries) == Counter(o.id for o in orders)
        assert all(e.data["after"]["generated"] for e in summaries)
        for order in orders:
            assert order.state in ("acknowledged", "inProgress")
            assert order.expected_completion is not None and order.committed_date > order.expected_completion
    # The jeopardy rules find nothing to flag in a fresh set.
    outcome = await dry_run(db, clock.now(), load_policy())
    assert (outcome.level_changes, outcome.escalations) == (0, 0)
    # Reconciling changes nothing: item and order states, expected completions (the critical path)
    # and needed-by dates already agree with the work.
    async with db.write(SYSTEM, clock.now()) as uow:
        await reconcile(uow, {o.id for o in orders if o.id is not None}, policy=load_policy())
        assert uow.pending == []


async def test_generating_twice_appends_without_clashing(db: Database, clock: FrozenClock) -> None:
    await generate(db, Spec(orders=3, items=2, chunk=2, parties=2), clock.now())
    await generate(db, Spec(orders=4, items=2, chunk=10, seed=2, parties=2), clock.now())  # reuses the parties
    assert await count(db, CustomerOrder) == 7
    assert await count(db, OrderItem) == 14
    async with db.read() as session:
        sequence = await session.get(EventSequence, 1)
        assert sequence is not None and sequence.last == 2 + 7
