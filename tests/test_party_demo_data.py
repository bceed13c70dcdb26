"""The demo data set shows party orders in every stage, through the same domain functions as the API."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import col

from app.clock import FrozenClock
from app.db import Database
from app.party_orders.demo import load_party_demo
from app.party_orders.models import PartyChangeRequest, PartyOrder


async def test_the_demo_loads_party_orders_in_varied_states(db: Database, clock: FrozenClock) -> None:
    parties = await load_party_demo(db, clock)
    assert len(parties) == 3
    async with db.read() as session:
        states = dict((await session.execute(select(col(PartyOrder.state), func.count()).group_by(col(PartyOrder.state)))).all())
        requests = dict(
            (
                await session.execute(select(col(PartyChangeRequest.state), func.count()).group_by(col(PartyChangeRequest.state)))
            ).all()
        )
        overdue = (await session.execute(select(func.count()).where(col(PartyOrder.next_report_due) < clock.now()))).scalar()
    assert {"pending", "acknowledged", "inProgress", "completed", "pendingCancellation", "cancelled"} <= set(states)
    assert requests == {"open": 1, "accepted": 1}
    assert overdue == 1
