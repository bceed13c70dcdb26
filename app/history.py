"""A history of closed customer orders with chosen slip rates, for the demo and for benchmarks: data
for the learned durations and the parties' delivery records.

Every order goes through the domain functions the API uses, at the times its story happened (each
step a ``Database.write`` at that moment), so its rows, its events and its reconciliation are the
real ones: taken, a party order placed, activities scheduled in a chain (the last, when there is
a party order, waiting on its delivery: planned after the committed delivery, started only after
the actual one), the party order acknowledged, the activities started and completed, the party's
delivery, then the order completed by the reconciliation. Slips are dealt, not drawn: of a party's ``n`` deliveries exactly ``round(rate * n)``
are late (in shuffled positions), and so for each activity kind, so a small history shows its rates.
A late activity takes 1.3 to 2 times its planned duration, an on-time one 0.6 to 1 times; a late
delivery comes 3 to 8 days after the committed date (at least one working day in any calendar
with no week-long holiday), an on-time one up to a day early.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from app.auth import Actor, Role
from app.db import Database, UnitOfWork
from app.orders import activities, service
from app.orders.models import OrderItem
from app.party_orders import partner, service as party_service
from app.party_orders.models import Party

HISTORIAN = Actor(name="history-loader", role=Role.STAFF)
DEFAULT_PARTY_SLIP: Mapping[str, float] = {"Northern Civils": 0.4, "MetroLink Wholesale": 0.1, "CPE Direct": 0.25}
DEFAULT_KIND_SLIP: Mapping[str, float] = {"site survey": 0.1, "install": 0.4}  # the demo's kinds
PLANNED_HOURS: Mapping[str, int] = {"site survey": 8, "install": 30}  # other kinds: 12


@dataclass
class HistorySpec:
    """How many closed orders, each party's and each activity kind's share of late work."""

    orders: int
    party_slip: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PARTY_SLIP))
    kind_slip: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_SLIP))
    seed: int = 1
    days: int = 120  # the history spans this many days up to an hour ago
    work_group: str = "field-north"
    ref_prefix: str = "SR-HIST"


def parse_rates(pairs: list[str] | None, option: str) -> dict[str, float]:
    """``["FibreCo=0.3", ...]`` as a mapping; SystemExit naming the option on a malformed pair."""
    rates: dict[str, float] = {}
    for pair in pairs or []:
        name, sep, value = pair.rpartition("=")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or not name.strip() or not 0 <= rate <= 1:
            raise SystemExit(f"{option} takes NAME=RATE with a rate from 0 to 1, not {pair!r}")
        rates[name.strip()] = rate
    return rates


def deal(count: int, rate: float, rng: random.Random) -> list[bool]:
    """``count`` flags of which exactly ``round(rate * count)`` are True, in random order."""
    late = round(rate * count)
    flags = [True] * late + [False] * (count - late)
    rng.shuffle(flags)
    return flags


@dataclass
class _Story:
    """One order's steps: (when, who, what), run in time order."""

    steps: list[tuple[datetime, Actor, Callable[[UnitOfWork], Awaitable[None]]]] = field(default_factory=list)

    def at(self, when: datetime, actor: Actor, step: Callable[[UnitOfWork], Awaitable[None]]) -> None:
        self.steps.append((when, actor, step))


async def _parties(db: Database, names: list[str], now: datetime) -> dict[str, int]:
    """The parties by name, created (through the domain) when missing."""
    async with db.write(HISTORIAN, now) as uow:
        rows = await uow.session.execute(select(col(Party.name), col(Party.id)).where(col(Party.name).in_(names)))
        found: dict[str, int] = {name: pid or 0 for name, pid in rows.all()}
        for name in names:
            if name not in found:
                party = await party_service.create_party(
                    uow, party_service.NewParty(name=name, kind="supplier", reporting_interval_hours=48)
                )
                found[name] = party.id or 0
    return found


async def generate_history(
    db: Database, spec: HistorySpec, now: datetime, progress: Callable[[int], None] | None = None, jobs: int = 1
) -> list[int]:
    """Write ``spec.orders`` closed orders ending before ``now`` (``jobs`` at a time); returns their ids."""
    if db.reconcile is None:
        raise RuntimeError("The database has no reconciliation wired (create_app and the command line hand it in).")
    rng = random.Random(spec.seed)
    party_names, kinds = sorted(spec.party_slip), list(spec.kind_slip)
    start = now - timedelta(days=spec.days)
    parties = await _parties(db, party_names, start - timedelta(hours=1)) if party_names else {}
    owner = [party_names[n % len(party_names)] if party_names else None for n in range(spec.orders)]
    per_party = {p: deal(owner.count(p), spec.party_slip[p], rng) for p in party_names}
    per_kind = {k: deal(spec.orders, spec.kind_slip[k], rng) for k in kinds}
    spacing = (spec.days - 30) * 24 / max(spec.orders, 1)  # hours between order starts; 30 days left for the last to close
    stories = []
    for n, party in enumerate(owner):
        late_delivery = per_party[party].pop() if party else False
        stories.append(
            (
                n,
                start + timedelta(hours=n * spacing),
                {k: per_kind[k][n] for k in kinds},
                (parties[party], late_delivery) if party else None,
            )
        )
    gate = asyncio.Semaphore(max(jobs, 1))

    async def close(n: int, taken: datetime, late: dict[str, bool], party: tuple[int, bool] | None) -> int:
        async with gate:
            order_id = await _close_one(db, spec, n, taken, kinds, late, party, random.Random(f"{spec.seed}-{n}"))
        if progress:
            progress(1)
        return order_id

    return list(await asyncio.gather(*(close(*story) for story in stories)))


async def _close_one(
    db: Database,
    spec: HistorySpec,
    n: int,
    taken: datetime,
    kinds: list[str],
    late: Mapping[str, bool],
    party: tuple[int, bool] | None,
    rng: random.Random,
) -> int:
    items = [service.NewItem(product_ref="FIBRE-1G")]
    if party:
        items.append(service.NewItem(product_ref="ACCESS-CIRCUIT", fulfillment="party", party_id=party[0]))
    data = service.NewOrder(
        sales_request_ref=f"{spec.ref_prefix}-{spec.seed}-{n + 1:05d}",
        customer_id="C-HIST",
        customer_name="History Holdings",
        committed_date=taken + timedelta(days=21),
        requested_at=taken - timedelta(days=1),
        items=items,
    )
    # The party's dates: the delivery it commits to, and when it comes (late by days, or a little early).
    committed = delivered = None
    if party is not None:
        committed = taken + timedelta(days=rng.randint(5, 12))
        slip = timedelta(hours=rng.uniform(72, 192)) if party[1] else -timedelta(hours=rng.uniform(0, 24))
        delivered = max(committed + slip, taken + timedelta(hours=1, seconds=1))
    planned: list[tuple[str, datetime, datetime]] = []
    cursor = taken + timedelta(hours=2)
    for k, kind in enumerate(kinds):
        hours = PLANNED_HOURS.get(kind, 12)
        if committed is not None and k == len(kinds) - 1:  # the last work waits on the delivery
            cursor = max(cursor, committed + timedelta(hours=2))
        planned.append((kind, cursor, cursor + timedelta(hours=hours)))
        cursor += timedelta(hours=hours + 2)
    ids: list[int] = []
    async with db.write(HISTORIAN, taken) as uow:
        order = await service.create_order(uow, data)
        item_id = (
            await uow.session.execute(
                select(col(OrderItem.id)).where(col(OrderItem.order_id) == order.id, col(OrderItem.product_ref) == "FIBRE-1G")
            )
        ).scalar_one()
        party_orders = await party_service.request_party_orders(uow, order.id or 0, party_service.Requisition()) if party else []
        previous: list[int] = []
        for k, (kind, begin, end) in enumerate(planned):
            waits = [po.id or 0 for po in party_orders] if k == len(planned) - 1 else []
            a = await activities.schedule_activity(
                uow,
                order.id or 0,
                activities.NewActivity(
                    kind=kind,
                    planned_start=begin,
                    planned_end=end,
                    work_group=spec.work_group,
                    item_id=item_id,
                    predecessor_ids=previous,
                    waits_on_party_order_ids=waits,
                ),
            )
            ids.append(a.id or 0)
            previous = [a.id or 0]
    story = _Story()
    ready = taken + timedelta(hours=2)
    for k, (activity_id, (kind, begin, end)) in enumerate(zip(ids, planned)):
        factor = rng.uniform(1.3, 2.0) if late[kind] else rng.uniform(0.6, 1.0)
        actual_start = max(begin, ready)
        if party_orders and delivered is not None and k == len(ids) - 1:  # not before the delivery it waits on
            actual_start = max(actual_start, delivered + timedelta(minutes=30))
        actual_end = actual_start + (end - begin) * factor
        ready = actual_end
        story.at(
            actual_start,
            HISTORIAN,
            _progress(activity_id, activities.ActivityProgress(state="inProgress", actual_start=actual_start)),
        )
        story.at(
            actual_end, HISTORIAN, _progress(activity_id, activities.ActivityProgress(state="completed", actual_end=actual_end))
        )
    if party_orders and party is not None and committed is not None and delivered is not None:
        po, (party_id, _) = party_orders[0], party
        supplier = Actor(name=f"history-partner-{party_id}", role=Role.PARTNER, party_id=party_id)
        story.at(taken + timedelta(hours=1), supplier, _acknowledge(po.id or 0, f"{spec.ref_prefix}-{spec.seed}-{n}", committed))
        story.at(delivered, supplier, _deliver(po.id or 0, f"{spec.ref_prefix}-{spec.seed}-{n}"))
    for when, actor, step in sorted(story.steps, key=lambda s: s[0]):
        async with db.write(actor, when) as uow:
            await step(uow)
    return order.id or 0


def _progress(activity_id: int, report: activities.ActivityProgress) -> Callable[[UnitOfWork], Awaitable[None]]:
    async def step(uow: UnitOfWork) -> None:
        await activities.record_progress(uow, activity_id, None, report)

    return step


def _acknowledge(po_id: int, ref: str, committed: datetime) -> Callable[[UnitOfWork], Awaitable[None]]:
    async def step(uow: UnitOfWork) -> None:
        await partner.acknowledge(
            uow, po_id, f"{ref}-ack", partner.Acknowledgement(party_ref=f"{ref}-P", committed_delivery=committed)
        )

    return step


def _deliver(po_id: int, ref: str) -> Callable[[UnitOfWork], Awaitable[None]]:
    async def step(uow: UnitOfWork) -> None:
        await partner.report_completion(uow, po_id, f"{ref}-done", uow.now, "delivered")

    return step
