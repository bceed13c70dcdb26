"""Consistency of the event log against the rows it describes (used by tests and ``ordertrack audit``).

Checks: sequence numbers run 1..last without gap or duplicate and ``event_sequence.last`` matches;
every customer order has exactly one ``orderCreated`` event and it is the order's first; replaying an
order's own events (creation snapshot, then each ``after``) gives the state and priority it has now;
no event points at an order that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from app.db import Database
from app.events import Event, last_sequence
from app.orders.models import CustomerOrder

REPLAYED_FIELDS = ("state", "priority", "customer_name", "committed_date")


@dataclass
class AuditReport:
    orders: int = 0
    events: int = 0
    last_seq: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _same(a: Any, b: Any) -> bool:
    """Values from events are JSON; datetimes compare as instants."""
    if isinstance(a, datetime) or isinstance(b, datetime):
        try:
            a = a if isinstance(a, datetime) else datetime.fromisoformat(str(a))
            b = b if isinstance(b, datetime) else datetime.fromisoformat(str(b))
        except ValueError:
            return False
    return bool(a == b)


async def audit(db: Database, *, batch: int = 5000) -> AuditReport:
    """Read the whole log once (in batches) and the orders, and list every inconsistency found."""
    report = AuditReport()
    async with db.read() as session:
        report.last_seq = await last_sequence(session)
        orders = {
            o.id: o for o in (await session.execute(select(CustomerOrder))).scalars() if o.id is not None
        }  # stored rows: ids are set
        report.orders = len(orders)
        replay: dict[int, dict[str, Any]] = {}
        created: dict[int, int] = {}
        first_seq: dict[int, int] = {}
        expected, after = 1, 0
        while True:
            rows = list(
                (
                    await session.execute(select(Event).where(col(Event.seq) > after).order_by(col(Event.seq)).limit(batch))
                ).scalars()
            )
            if not rows:
                break
            for event in rows:
                if event.seq != expected:
                    report.problems.append(f"event log gap: expected seq {expected}, found {event.seq}")
                expected = event.seq + 1
                report.events += 1
                _apply(event, orders, replay, created, first_seq, report)
            after = rows[-1].seq
        count = (await session.execute(select(func.count()).select_from(Event))).scalar_one()
    if report.events != count:
        report.problems.append(f"{count} events stored but {report.events} read in sequence")
    if expected - 1 != report.last_seq:
        report.problems.append(
            f"event log gap at the end: event_sequence.last is {report.last_seq} but the log ends at {expected - 1}"
        )
    for order_id, order in orders.items():
        if created.get(order_id, 0) != 1:
            report.problems.append(f"order {order_id} has {created.get(order_id, 0)} orderCreated events")
            continue
        state = replay.get(order_id, {})
        for name in REPLAYED_FIELDS:
            if name in state and not _same(state[name], getattr(order, name)):
                report.problems.append(f"order {order_id}: {name} is {getattr(order, name)!r} but its events say {state[name]!r}")
    return report


def _apply(
    event: Event,
    orders: dict[int, CustomerOrder],
    replay: dict[int, dict[str, Any]],
    created: dict[int, int],
    first_seq: dict[int, int],
    report: AuditReport,
) -> None:
    oid = event.order_id
    if oid is None:
        return
    if oid not in orders:
        report.problems.append(f"event {event.seq} ({event.type}) refers to missing order {oid}")
        return
    first_seq.setdefault(oid, event.seq)
    if event.type == "orderCreated":
        created[oid] = created.get(oid, 0) + 1
        if first_seq[oid] != event.seq:
            report.problems.append(f"order {oid}: orderCreated (seq {event.seq}) is not its first event")
        replay[oid] = {k: v for k, v in (event.data.get("after") or {}).items() if k in REPLAYED_FIELDS}
    elif event.entity == "order" and event.entity_id == oid:
        if oid not in replay:
            report.problems.append(f"order {oid}: {event.type} (seq {event.seq}) before its creation")
            return
        replay[oid].update({k: v for k, v in (event.data.get("after") or {}).items() if k in REPLAYED_FIELDS})
