"""Expected completion of a customer order: the critical path through its open work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UnitOfWork
from app.orders import states, work
from app.orders.models import Activity, ActivityDependency, CustomerOrder


async def activity_finishes(session: AsyncSession, order_id: int) -> dict[int, datetime]:
    """When each live activity of the order will finish, pushed later by any predecessor that slips."""
    activities = {
        a.id: a
        for a in (await session.execute(select(Activity).where(Activity.order_id == order_id))).scalars()
        if a.state not in states.WORK_DROPPED
    }
    preds: dict[int, list[int]] = {}
    rows = await session.execute(
        select(ActivityDependency.activity_id, ActivityDependency.predecessor_id).where(
            ActivityDependency.activity_id.in_(list(activities))
        )
    )
    for activity_id, predecessor_id in rows:
        preds.setdefault(activity_id, []).append(predecessor_id)
    finish: dict[int, datetime] = {}

    def visit(activity_id: int, path: frozenset[int]) -> datetime | None:
        if activity_id in finish:
            return finish[activity_id]
        a = activities.get(activity_id)
        if a is None or activity_id in path:  # dropped predecessor, or a cycle the API refuses anyway
            return None
        if a.state == "completed":
            finish[activity_id] = a.actual_end or a.planned_end
            return finish[activity_id]
        own_end = a.expected_end or a.planned_end
        start = a.actual_start or a.planned_start
        pred_ends = [e for p in preds.get(activity_id, []) if (e := visit(p, path | {activity_id})) is not None]
        if pred_ends and max(pred_ends) > start and a.actual_start is None:
            own_end = max(own_end, max(pred_ends) + (a.planned_end - a.planned_start))
        finish[activity_id] = own_end
        return own_end

    for activity_id in activities:
        visit(activity_id, frozenset())
    return finish


async def expected_completion(session: AsyncSession, order_id: int) -> datetime | None:
    """The latest expected end over the order's work (activities by critical path, others as reported)."""
    ends = list((await activity_finishes(session, order_id)).values())
    for unit in await work.all_work(session, order_id):
        if unit.kind != "activity" and not unit.dropped and unit.expected_end is not None:
            ends.append(unit.expected_end)
    return max(ends) if ends else None


async def refresh_expected_completion(uow: UnitOfWork, order_id: int) -> None:
    """Recompute and store the order's expected completion; record an event when it moves."""
    order = await uow.session.get(CustomerOrder, order_id)
    if order is None or not states.ORDER.is_open(order.state):
        return
    await uow.session.flush()
    new = await expected_completion(uow.session, order_id)
    if new == order.expected_completion:
        return
    before = order.expected_completion
    order.expected_completion = new
    uow.record(
        "expectedCompletionChanged",
        entity="order",
        entity_id=order_id,
        order_id=order_id,
        before={"expected_completion": before},
        after={"expected_completion": new},
    )
    await reevaluate(uow, order)


async def reevaluate(uow: UnitOfWork, order: CustomerOrder) -> None:
    """Let the registered hooks (jeopardy) look at the order again in this transaction."""
    for hook in AFTER_REDATE:
        await hook(uow, order)


# Called after an order's dates or state moved (the jeopardy domain registers its evaluation here).
AFTER_REDATE: list[Callable[[UnitOfWork, CustomerOrder], Awaitable[None]]] = []


