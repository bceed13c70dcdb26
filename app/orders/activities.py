"""Scheduling, assigning and coordinating the provisioning activities of a customer order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import col

from app import validation as v
from app.db import UnitOfWork
from app.errors import Conflict, InvalidInput, InvalidTransition, not_found
from app.events import diff
from app.orders import states
from app.orders.core import get_order_for_update
from app.orders.models import Activity, ActivityDependency, ActivityPartyDependency, OrderItem
from app.party_orders import states as party_states
from app.party_orders.models import PartyOrder
from app.state_machine import EventScope

MAX_PREDECESSORS = 50
MAX_PARTY_WAITS = 50


@dataclass
class NewActivity:
    kind: str
    planned_start: datetime
    planned_end: datetime
    item_id: int | None = None
    work_group: str | None = None
    assignee: str | None = None
    predecessor_ids: list[int] = field(default_factory=list)
    note: str | None = None
    waits_on_party_order_ids: list[int] = field(default_factory=list)


@dataclass
class ActivityProgress:
    state: str | None = None
    percent_complete: int | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    expected_end: datetime | None = None
    note: str | None = None


def activity_snapshot(a: Activity) -> dict[str, Any]:
    return {
        "kind": a.kind,
        "state": a.state,
        "planned_start": a.planned_start,
        "planned_end": a.planned_end,
        "actual_start": a.actual_start,
        "actual_end": a.actual_end,
        "expected_end": a.expected_end,
        "percent_complete": a.percent_complete,
        "work_group": a.work_group,
        "assignee": a.assignee,
        "note": a.note,
    }


async def _load(uow: UnitOfWork, activity_id: int, expected_version: int | None) -> Activity:
    activity = await uow.session.get(Activity, activity_id)
    if activity is None:
        raise not_found("Activity", activity_id)
    await get_order_for_update(uow, activity.order_id)  # serialise with other writers of the order
    await uow.session.refresh(activity)
    if expected_version is not None and activity.version != expected_version:
        raise Conflict(
            f"Activity {activity_id} was changed by someone else (version {activity.version}); reload it.",
            current_version=activity.version,
        )
    return activity


def _record(uow: UnitOfWork, activity: Activity, type: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    _touch(uow, activity)
    uow.record(type, entity="activity", entity_id=activity.id or 0, order_id=activity.order_id, before=before, after=after)


async def _check_predecessors(uow: UnitOfWork, order_id: int, activity_id: int | None, ids: list[int]) -> list[int]:
    if activity_id is not None and activity_id in ids:
        raise InvalidInput("An activity cannot depend on itself.", field="predecessorIds")
    ids = await _rows_of_order(
        uow, Activity, order_id, ids, most=MAX_PREDECESSORS, field="predecessorIds",
        too_many="predecessors", foreign="Predecessor {id} is not an activity of this order.",
    )  # fmt: skip
    if activity_id is not None and ids:
        await _refuse_cycle(uow, order_id, activity_id, ids)
    return ids


async def _check_party_waits(uow: UnitOfWork, order_id: int, ids: list[int]) -> list[int]:
    """The party orders an activity is to wait on: party orders of its own customer order, at most ``MAX_PARTY_WAITS``."""
    return await _rows_of_order(
        uow, PartyOrder, order_id, ids, most=MAX_PARTY_WAITS, field="waitsOnPartyOrderIds",
        too_many="party orders to wait on", foreign="Party order {id} is not a party order of this order.",
    )  # fmt: skip


async def _rows_of_order(
    uow: UnitOfWork,
    model: type[Activity] | type[PartyOrder],
    order_id: int,
    ids: list[int],
    *,
    most: int,
    field: str,
    too_many: str,
    foreign: str,
) -> list[int]:
    """``ids`` once each, at most ``most``, every one a row of ``model`` in this customer order."""
    ids = list(dict.fromkeys(ids))
    if len(ids) > most:
        raise InvalidInput(f"At most {most} {too_many}.", field=field)
    if not ids:
        return ids
    rows = await uow.session.execute(select(col(model.id), col(model.order_id)).where(col(model.id).in_(ids)))
    found = dict(rows.all())
    for pid in ids:
        if found.get(pid) != order_id:
            raise InvalidInput(foreign.format(id=pid), field=field)
    return ids


async def _refuse_cycle(uow: UnitOfWork, order_id: int, activity_id: int, new_preds: list[int]) -> None:
    rows = await uow.session.execute(
        select(col(ActivityDependency.activity_id), col(ActivityDependency.predecessor_id))
        .join(Activity, col(Activity.id) == col(ActivityDependency.activity_id))
        .where(col(Activity.order_id) == order_id, col(ActivityDependency.activity_id) != activity_id)
    )
    preds: dict[int, list[int]] = {}
    for a, p in rows:
        preds.setdefault(a, []).append(p)
    preds[activity_id] = new_preds
    stack, seen = list(new_preds), set()
    while stack:  # walking back from the new predecessors must never reach the activity itself
        current = stack.pop()
        if current == activity_id:
            raise InvalidInput("These predecessors would make a dependency cycle.", field="predecessorIds")
        if current not in seen:
            seen.add(current)
            stack += preds.get(current, [])


async def _set_predecessors(uow: UnitOfWork, activity_id: int, ids: list[int]) -> None:
    await uow.session.execute(delete(ActivityDependency).where(col(ActivityDependency.activity_id) == activity_id))
    uow.session.add_all([ActivityDependency(activity_id=activity_id, predecessor_id=p) for p in ids])


async def _set_party_waits(uow: UnitOfWork, activity_id: int, ids: list[int]) -> None:
    await uow.session.execute(delete(ActivityPartyDependency).where(col(ActivityPartyDependency.activity_id) == activity_id))
    uow.session.add_all([ActivityPartyDependency(activity_id=activity_id, party_order_id=p) for p in ids])


async def party_orders_waited_on(uow: UnitOfWork, activity_id: int) -> list[PartyOrder]:
    """The party orders the activity waits on, by id."""
    rows = await uow.session.execute(
        select(PartyOrder)
        .join(ActivityPartyDependency, col(ActivityPartyDependency.party_order_id) == col(PartyOrder.id))
        .where(col(ActivityPartyDependency.activity_id) == activity_id)
        .order_by(col(PartyOrder.id))
    )
    return list(rows.scalars())


async def predecessors(uow: UnitOfWork, activity_id: int) -> list[Activity]:
    rows = await uow.session.execute(
        select(Activity)
        .join(ActivityDependency, col(ActivityDependency.predecessor_id) == col(Activity.id))
        .where(col(ActivityDependency.activity_id) == activity_id)
    )
    return list(rows.scalars())


async def schedule_activity(uow: UnitOfWork, order_id: int, data: NewActivity) -> Activity:
    order = await get_order_for_update(uow, order_id)
    if not states.ORDER.is_open(order.state) or order.state == "pendingCancellation":
        raise InvalidTransition(f"Customer order {order_id} is {order.state}; no new activities can be scheduled.")
    v.aware(data.planned_start, "plannedStart")
    v.aware(data.planned_end, "plannedEnd")
    v.ordered(data.planned_start, data.planned_end, "plannedStart", "plannedEnd")
    if data.item_id is not None:
        item = await uow.session.get(OrderItem, data.item_id)
        if item is None or item.order_id != order_id:
            raise InvalidInput(f"Item {data.item_id} is not an item of order {order_id}.", field="itemId")
        if not states.ITEM.is_open(item.state):
            raise InvalidInput(f"Item {data.item_id} is {item.state}; it takes no new work.", field="itemId")
    preds = await _check_predecessors(uow, order_id, None, data.predecessor_ids)
    waits = await _check_party_waits(uow, order_id, data.waits_on_party_order_ids)
    activity = Activity(
        order_id=order_id,
        item_id=data.item_id,
        kind=v.required_text(data.kind, "kind", max_len=64),
        state=states.ACTIVITY.initial,
        planned_start=data.planned_start,
        planned_end=data.planned_end,
        work_group=v.text(data.work_group, "workGroup", max_len=128),
        assignee=v.text(data.assignee, "assignee", max_len=128),
        note=v.text(data.note, "note"),
        updated_at=uow.now,
    )
    uow.session.add(activity)
    await uow.session.flush()
    assert activity.id is not None
    await _set_predecessors(uow, activity.id, preds)
    await _set_party_waits(uow, activity.id, waits)
    after = {**activity_snapshot(activity), "predecessor_ids": preds, "waits_on_party_order_ids": waits, "item_id": data.item_id}
    uow.record("activityScheduled", entity="activity", entity_id=activity.id, order_id=order_id, after=after)
    return activity


async def reschedule_activity(
    uow: UnitOfWork,
    activity_id: int,
    expected_version: int | None,
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
    predecessor_ids: list[int] | None = None,
    waits_on_party_order_ids: list[int] | None = None,
) -> Activity:
    activity = await _load(uow, activity_id, expected_version)
    if not states.ACTIVITY.is_open(activity.state):
        raise InvalidTransition(f"Activity {activity_id} is {activity.state}; it cannot be rescheduled.")
    before = {
        **activity_snapshot(activity),
        "predecessor_ids": [p.id for p in await predecessors(uow, activity_id)],
        "waits_on_party_order_ids": [p.id for p in await party_orders_waited_on(uow, activity_id)],
    }
    start = v.aware(planned_start, "plannedStart") or activity.planned_start
    end = v.aware(planned_end, "plannedEnd") or activity.planned_end
    v.ordered(start, end, "plannedStart", "plannedEnd")
    activity.planned_start, activity.planned_end = start, end
    after_preds, after_waits = before["predecessor_ids"], before["waits_on_party_order_ids"]
    if predecessor_ids is not None:
        after_preds = await _check_predecessors(uow, activity.order_id, activity_id, predecessor_ids)
        await _set_predecessors(uow, activity_id, after_preds)
    if waits_on_party_order_ids is not None:
        after_waits = await _check_party_waits(uow, activity.order_id, waits_on_party_order_ids)
        await _set_party_waits(uow, activity_id, after_waits)
    old, new = diff(
        before, {**activity_snapshot(activity), "predecessor_ids": after_preds, "waits_on_party_order_ids": after_waits}
    )
    if not new:
        raise InvalidInput("The change sets nothing new.", field="plannedStart")
    _record(uow, activity, "activityRescheduled", old, new)
    return activity


async def assign_activity(
    uow: UnitOfWork, activity_id: int, expected_version: int | None, work_group: str | None, assignee: str | None
) -> Activity:
    activity = await _load(uow, activity_id, expected_version)
    if not states.ACTIVITY.is_open(activity.state):
        raise InvalidTransition(f"Activity {activity_id} is {activity.state}; it cannot be reassigned.")
    before = activity_snapshot(activity)
    activity.work_group = v.text(work_group, "workGroup", max_len=128)
    activity.assignee = v.text(assignee, "assignee", max_len=128)
    old, new = diff(before, activity_snapshot(activity))
    if not new:
        raise InvalidInput("The activity already has this assignment.", field="assignee")
    _record(uow, activity, "activityAssigned", old, new)
    return activity


def _on_entering(activity: Activity, target: str, now: datetime) -> None:
    """What entering ``target`` sets besides the state: the actual start, the actual end and 100 %."""
    if target == "inProgress" and activity.actual_start is None:
        activity.actual_start = now
    if target == "completed":
        activity.actual_end = activity.actual_end or now
        activity.percent_complete = 100


def _touch(uow: UnitOfWork, activity: Activity) -> None:
    activity.version += 1
    activity.updated_at = uow.now


def move_activity(uow: UnitOfWork, activity: Activity, target: str, reason: str | None = None) -> None:
    """Change an activity's state alone (cancellation cascades use this)."""
    states.ACTIVITY.transition(uow, activity, target, EventScope(activity.id or 0, activity.order_id), reason=reason)
    _on_entering(activity, target, uow.now)
    _touch(uow, activity)


async def record_progress(
    uow: UnitOfWork, activity_id: int, expected_version: int | None, progress: ActivityProgress
) -> Activity:
    """Track execution: state, percent done, actual start and end, the expected end."""
    activity = await _load(uow, activity_id, expected_version)
    before = activity_snapshot(activity)
    if progress.percent_complete is not None and not 0 <= progress.percent_complete <= 100:
        raise InvalidInput("percentComplete must be between 0 and 100.", field="percentComplete")
    for name in ("actual_start", "actual_end", "expected_end"):
        v.aware(getattr(progress, name), name)
    for name in ("actual_start", "actual_end"):
        when = getattr(progress, name)
        if when is not None and when > uow.now:
            raise InvalidInput(f"{name} cannot be in the future.", field=name)
    if progress.state is not None and progress.state != activity.state:
        if progress.state == "inProgress":
            waiting = [p for p in await predecessors(uow, activity_id) if p.state != "completed"]
            if waiting:
                names = ", ".join(f"{p.kind} {p.id} ({p.state})" for p in waiting)
                raise InvalidTransition(
                    f"Activity {activity_id} cannot start before its predecessors are completed: {names}.",
                    current=activity.state,
                    target="inProgress",
                    waiting_for=[str(p.id) for p in waiting],
                )
            undelivered = [
                po
                for po in await party_orders_waited_on(uow, activity_id)
                if po.state not in party_states.DONE and po.state not in party_states.DROPPED
            ]
            if undelivered:
                names = ", ".join(f"party order {po.id} ({po.state})" for po in undelivered)
                raise InvalidTransition(
                    f"Activity {activity_id} cannot start before the party orders it waits on deliver: {names}.",
                    current=activity.state,
                    target="inProgress",
                    waiting_for_party_orders=[str(po.id) for po in undelivered],
                )
        states.ACTIVITY.check(activity.state, progress.state)
    elif not states.ACTIVITY.is_open(activity.state):
        raise InvalidTransition(f"Activity {activity_id} is {activity.state}; it takes no more progress.")
    if progress.actual_start is not None:
        activity.actual_start = progress.actual_start
    if progress.actual_end is not None:
        activity.actual_end = progress.actual_end
    if activity.actual_start and activity.actual_end and activity.actual_end < activity.actual_start:
        raise InvalidInput("actualEnd must not be before actualStart.", field="actualEnd")
    if progress.percent_complete is not None:
        activity.percent_complete = progress.percent_complete
    if progress.expected_end is not None:
        activity.expected_end = progress.expected_end
    if progress.note is not None:
        activity.note = v.text(progress.note, "note")
    if progress.state is not None and progress.state != activity.state:
        activity.state = progress.state  # checked above; recorded in the progress report's own event
        _on_entering(activity, progress.state, uow.now)
    old, new = diff(before, activity_snapshot(activity))
    if not new:
        raise InvalidInput("The progress report changes nothing.", field="state")
    _record(uow, activity, "activityProgressed", old, new)
    return activity
