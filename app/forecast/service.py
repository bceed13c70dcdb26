"""Drawing and storing customer orders' forecasts, inside the reconciliation (``app/consistency.py``).

A forecast is drawn again only when its inputs change (a digest of the open work's dates and
states, kept on the order as ``forecast_key``: a report that moves no date leaves it) or when its
time comes (``forecast_due_at``: the policy's refresh interval, or earlier the next planned date
that now will pass; the order rule lists it among its thresholds, so the sweep reaches the order
through its index, never by scanning open orders).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select

from app.calendars.book import CalendarBook
from app.columns import table_of
from app.db import Database, UnitOfWork, in_ids, upsert_rows
from app.forecast import learning
from app.forecast.drawing import DrawingPool
from app.forecast.models import OrderForecast
from app.forecast.simulate import ACTIVITY, PARTY_ORDER, Forecast, History, Job, Work
from app.jeopardy.policy import Policy
from app.jeopardy.rules import FORECAST_REASON
from app.orders import states
from app.party_orders import states as party_states
from app.party_orders.models import Party
from app.turns import Turns

PLAN_BASIS = "plan: too few closed cases to learn from, so the plan is the forecast"


@dataclass(frozen=True)
class OrderWork:
    """What a forecast reads of one open order (plain rows from the reconciliation's read)."""

    order: Any  # id, committed_date, forecast_key, forecast_due_at
    activities: Sequence[Any]  # id, kind, work_group, state, planned/actual dates, expected_end
    preds: Mapping[int, Sequence[int]]
    party_orders: Sequence[Any]  # id, party_id, state, needed_by, committed_delivery, expected_delivery, delivered_at
    needed_by: Mapping[int, datetime]  # party orders' needed-by dates just settled, where they moved
    waits: Mapping[int, Sequence[int]] = field(default_factory=dict)  # activity -> the party orders it waits on


def _t(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def inputs_key(w: OrderWork, policy_digest: str = "") -> str:
    """A digest of everything a forecast reads of the order (not the time), and of the policy it is
    drawn under (calendars, draws); every reconciliation computes it, so it is built of plain
    numbers and names (``repr`` of datetimes costs more)."""
    parts: list[Any] = [policy_digest, _t(w.order.committed_date)]
    for a in w.activities:
        parts += (
            a.id,
            a.kind,
            a.work_group,
            a.state,
            _t(a.planned_start),
            _t(a.planned_end),
            _t(a.actual_start),
            _t(a.actual_end),
            _t(a.expected_end),
            tuple(w.preds.get(a.id, ())),
            tuple(w.waits.get(a.id, ())),
        )
    for p in w.party_orders:
        parts += (
            p.id,
            p.party_id,
            p.state,
            _t(w.needed_by.get(p.id, p.needed_by)),
            _t(p.committed_delivery),
            _t(p.expected_delivery),
            _t(p.delivered_at),
        )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def due(order: Any, now: datetime) -> bool:
    """The order's forecast is to be drawn again because its time came (``forecast_due_at`` passed)."""
    return order.forecast_due_at is not None and order.forecast_due_at <= now.timestamp()


def stale(w: OrderWork, key: str, now: datetime) -> bool:
    return w.order.forecast_key != key or due(w.order, now)


# Histories move slowly (a case closes now and then), so a process keeps what it read, per database,
# for ``forecast.keep`` rather than read it again in every transaction that draws a forecast.
_kept: WeakKeyDictionary[Database, dict[tuple[Any, ...], tuple[float, Any]]] = WeakKeyDictionary()


class Learned:
    """Histories (and party names) asked for while forecasting, read once per ``keep`` seconds."""

    def __init__(self, uow: UnitOfWork, book: CalendarBook, limit: int, keep: float) -> None:
        self.session, self.dialect, self.book, self.limit, self.keep = uow.session, uow.dialect, book, limit, keep
        self._kept = _kept.setdefault(uow.db, {})
        self._tag = (id(book), limit)  # another policy in force reads afresh
        self.party_names: dict[int, str] = {}

    def _recall(self, key: tuple[Any, ...]) -> Any:
        found = self._kept.get((*self._tag, *key))
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        if self.keep > 0:
            self._kept[(*self._tag, *key)] = (time.monotonic() + self.keep, value)

    async def activity(self, kind: str, work_group: str | None) -> History:
        found = self._recall(("activity", kind, work_group))
        if found is None:
            calendar = self.book.for_work_group(work_group)
            found = await learning.activity_history(self.session, kind, work_group, calendar, self.limit)
            self._keep(("activity", kind, work_group), found)
        return found

    async def party(self, party_id: int) -> History:
        found = self._recall(("party", party_id))
        if found is None:
            calendar = self.book.for_party(self.party_names.get(party_id))
            found = await learning.party_history(self.session, party_id, calendar, self.limit)
            self._keep(("party", party_id), found)
        return found

    async def name_parties(self, ids: Iterable[int]) -> None:
        wanted = []
        for pid in sorted(set(ids)):
            name = self._recall(("name", pid))
            if name is None:
                wanted.append(pid)
            else:
                self.party_names[pid] = name
        if wanted:
            party: Any = Party.__table__.c  # type: ignore[attr-defined]  # the table's columns, typed by SQLAlchemy not the model
            rows = await self.session.execute(select(party.id, party.name).where(in_ids(party.id, wanted, self.dialect)))
            for pid, name in rows:
                self.party_names[pid] = name
                self._keep(("name", pid), name)


async def _work_of(w: OrderWork, learned: Learned) -> list[Work]:
    book = learned.book
    work: list[Work] = []
    live_party_orders = {p.id for p in w.party_orders if p.state not in party_states.DROPPED}
    for a in w.activities:
        if a.state in states.WORK_DROPPED:
            continue
        done = a.state in states.WORK_DONE
        start = a.actual_start or a.planned_start
        end = a.planned_end + (start - a.planned_start) if a.actual_start else a.planned_end
        floor = a.expected_end if a.expected_end and a.expected_end > a.planned_end else None
        work.append(
            Work(
                ACTIVITY,
                a.id,
                a.kind,
                book.for_work_group(a.work_group),
                start,
                end,
                started=a.actual_start is not None,
                done_at=(a.actual_end or a.planned_end) if done else None,
                floor=floor,
                preds=(
                    *(f"{ACTIVITY}:{p}" for p in w.preds.get(a.id, ())),
                    *(f"{PARTY_ORDER}:{p}" for p in w.waits.get(a.id, ()) if p in live_party_orders),
                ),
                history=None if done else await learned.activity(a.kind, a.work_group),
            )
        )
    for p in w.party_orders:
        if p.state in party_states.DROPPED:
            continue
        done = p.state in party_states.DONE
        base = p.committed_delivery or p.expected_delivery or w.needed_by.get(p.id, p.needed_by)
        name = learned.party_names.get(p.party_id, f"party {p.party_id}")
        later = p.expected_delivery if p.expected_delivery and p.expected_delivery > base else None
        work.append(
            Work(
                PARTY_ORDER,
                p.id,
                f"{name}'s delivery",
                book.for_party(name),
                base,
                base,
                done_at=(p.delivered_at or base) if done else None,
                floor=later,
                due=p.committed_delivery or w.needed_by.get(p.id, p.needed_by),
                history=None if done else await learned.party(p.party_id),
            )
        )
    return work


def basis(work: Sequence[Work], min_samples: int) -> str:
    open_work = [w for w in work if w.done_at is None]
    learned = [w for w in open_work if w.history is not None and w.history.count >= min_samples]
    if not open_work:
        return "done: no open work"
    if not learned:
        return PLAN_BASIS
    if len(learned) < len(open_work):
        return f"history for {len(learned)} of {len(open_work)} open pieces of work; the plan for the rest"
    return f"history of closed work for all {len(open_work)} open pieces of work"


def chain_sentence(forecast: Forecast, work: Mapping[str, Work], min_samples: int) -> str | None:
    """What decides the completion, naming the least reliable work of the critical chain."""
    chain = list(forecast.critical_path)
    known = [k for k in chain if (h := work[k].history) is not None and h.count >= min_samples and work[k].done_at is None]
    if not known:
        return None
    worst = max(known, key=lambda k: (work[k].history.late_rate, k))  # type: ignore[union-attr]
    after = chain.index(worst) + 1
    waiting = work[chain[after]].name if after < len(chain) else "completion"
    rate = round(work[worst].history.late_rate * 100)  # type: ignore[union-attr]
    return f"{waiting} waits on {work[worst].name}, which is late {rate}% of the time"


def due_at(work: Sequence[Work], now: datetime, policy: Policy, drawn: bool) -> float | None:
    """When to draw again with no date moved: when now passes the next planned end of open work
    (where the jeopardy rules look too, so a sweep reaches few more orders than it would anyway),
    and, for a forecast drawn from history, after the policy's ``refresh`` if it sets one."""
    ahead = [w.end.timestamp() for w in work if w.done_at is None and w.end > now]
    refresh = policy.forecast.refresh
    if drawn and refresh is not None:
        ahead.append((now + refresh).timestamp())
    return min(ahead, default=None)


@dataclass(frozen=True)
class Drawn:
    """One order's forecast as drawn: its ``order_forecast`` row and the marks kept on the order."""

    stored: dict[str, Any]
    mark: dict[str, Any]


@dataclass
class Drafts:
    """Forecasts drawn ahead at ``now`` (``drafts``), by order id and inputs key: a reconciliation at
    the same instant whose order still has those inputs stores the draft rather than draw it again."""

    now: datetime
    drawn: dict[tuple[int, str], Drawn] = field(default_factory=dict)

    def get(self, order_id: int, key: str, now: datetime) -> Drawn | None:
        return self.drawn.get((order_id, key)) if now == self.now else None


async def _stale(orders: Sequence[OrderWork], policy: Policy, now: datetime, turns: Turns) -> list[tuple[OrderWork, str]]:
    """The orders whose forecast is to be drawn again, each with its inputs key."""
    todo = []
    for w in orders:
        await turns.take()
        if stale(w, key := inputs_key(w, policy.digest), now):
            todo.append((w, key))
    return todo


async def refresh(
    uow: UnitOfWork,
    orders: Sequence[OrderWork],
    policy: Policy,
    turns: Turns | None = None,
    drafts: Drafts | None = None,
) -> list[dict[str, Any]]:
    """Draw again the forecasts of these open orders whose inputs changed or whose time came, and store
    them; returns the marks to keep on each order (``Drawn.mark``), for the caller to store with its own.

    ``turns``: the caller's, when this is one step of a longer computation (a sweep's batch, whose
    writers of this process get their turn meanwhile); ``drafts``: forecasts already drawn at this
    instant (outside the transaction's locks), used where the order's inputs are still the same.
    """
    now = uow.now
    turns = turns or Turns()
    todo = await _stale(orders, policy, now, turns)
    if not todo:
        return []
    ready = {w.order.id: found for w, key in todo if drafts is not None and (found := drafts.get(w.order.id, key, now))}
    fresh = iter(await _draw(uow, [(w, key) for w, key in todo if w.order.id not in ready], policy, turns))
    return await _store(uow, [ready.get(w.order.id) or next(fresh) for w, _ in todo])


async def store(uow: UnitOfWork, drafts: Drafts) -> list[dict[str, Any]]:
    """Store these drafts as they are (the caller knows they are what ``refresh`` would draw now);
    returns their orders' marks, as ``refresh`` does."""
    return await _store(uow, list(drafts.drawn.values()))


@dataclass
class Drawing:
    """Forecasts being drawn at ``now``: the orders (each with its inputs key) and their work, and the
    forecasts, drawn here already or a worker process's answer to come (``pending``)."""

    now: datetime
    todo: list[tuple[OrderWork, str]]
    works: list[list[Work]]
    drawn: list[Forecast]
    pending: asyncio.Future[list[Forecast]] | None = None
    jobs: list[Job] = field(default_factory=list)  # what ``pending`` draws
    pool: DrawingPool | None = None  # who draws them


async def begin_drafts(
    uow: UnitOfWork, orders: Sequence[OrderWork], policy: Policy, turns: Turns, pool: DrawingPool | None = None
) -> Drawing:
    """Begin drawing the forecasts ``refresh`` would draw now for these orders, storing nothing (``uow``
    may be a read-only one); in ``pool``'s worker processes when it has any (``drafts`` ends it)."""
    return await _begin(uow, await _stale(orders, policy, uow.now, turns), policy, turns, pool)


async def drafts(drawing: Drawing, policy: Policy, turns: Turns | None = None) -> Drafts:
    """What ``begin_drafts`` drew, once drawn (``turns``: the caller's, between the orders' rows)."""
    drawn = await _end(drawing, policy, turns or Turns())
    return Drafts(now=drawing.now, drawn={(w.order.id, key): d for (w, key), d in zip(drawing.todo, drawn, strict=True)})


async def _draw(uow: UnitOfWork, todo: Sequence[tuple[OrderWork, str]], policy: Policy, turns: Turns) -> list[Drawn]:
    """Draw these orders' forecasts (each with its inputs key) at ``uow.now``, in order, here."""
    return await _end(await _begin(uow, todo, policy, turns, None), policy, turns)


async def _begin(
    uow: UnitOfWork, todo: Sequence[tuple[OrderWork, str]], policy: Policy, turns: Turns, pool: DrawingPool | None
) -> Drawing:
    now, settings = uow.now, policy.forecast
    if not todo:
        return Drawing(now, [], [], [])
    learned = Learned(uow, policy.calendars, settings.history, settings.keep.total_seconds())
    await learned.name_parties(p.party_id for w, _ in todo for p in w.party_orders)
    works = []
    for w, _ in todo:
        await turns.take()
        works.append(await _work_of(w, learned))
    jobs = [
        Job(work, w.order.committed_date, now, settings.draws, settings.seed * 1_000_003 + w.order.id, settings.min_samples)
        for (w, _), work in zip(todo, works, strict=True)
    ]
    pending = pool.submit(jobs) if pool is not None else None
    drawn = []
    if pending is None:
        for job in jobs:
            await turns.take()
            drawn.append(job.run())
    return Drawing(now, list(todo), works, drawn, pending, jobs, pool)


async def _end(drawing: Drawing, policy: Policy, turns: Turns) -> list[Drawn]:
    """The rows to store of what was drawn (waiting for the worker process first)."""
    if drawing.pending is not None and drawing.pool is not None:
        forecasts = await drawing.pool.results(drawing.pending, drawing.jobs)
    else:
        forecasts = drawing.drawn
    settings, now = policy.forecast, drawing.now
    found: list[Drawn] = []
    for (w, key), work, forecast in zip(drawing.todo, drawing.works, forecasts, strict=True):
        await turns.take()
        oid = w.order.id
        graph = {x.key: x for x in work}
        sentence = chain_sentence(forecast, graph, settings.min_samples)
        percent = round(forecast.on_time_probability * 100)
        summary = f"{FORECAST_REASON}{percent}% chance of meeting the committed date" + (f": {sentence}." if sentence else ".")
        stored = {
            "order_id": oid,
            "completion_p50": forecast.completion_p50,
            "completion_p90": forecast.completion_p90,
            "on_time_probability": forecast.on_time_probability,
            "basis": basis(work, settings.min_samples),
            "critical_path": [{"kind": graph[k].kind, "id": graph[k].id, "name": graph[k].name} for k in forecast.critical_path],
            "party_orders": {
                str(x.id): {"p50": f.p50.isoformat(), "p90": f.p90.isoformat(), "probability": f.probability}
                for k, f in forecast.work.items()
                if (x := graph[k]).kind == PARTY_ORDER
            },
            "computed_at": now,
        }
        mark = {
            "id": oid,
            "forecast_key": key,
            "forecast_due_at": due_at(work, now, policy, forecast.draws > 1),
            "forecast_on_time": forecast.on_time_probability,
            "forecast_summary": summary[:500],
        }
        found.append(Drawn(stored=stored, mark=mark))
    return found


async def _store(uow: UnitOfWork, drawn: list[Drawn]) -> list[dict[str, Any]]:
    """The ``order_forecast`` rows, not through the ORM (a sweep may draw many forecasts at once);
    the marks on the orders are returned: the reconciliation stores them with its other marks on
    the same rows, one update each."""
    await upsert_rows(uow.session, table_of(OrderForecast), [d.stored for d in drawn], "order_id", uow.dialect)
    return [d.mark for d in drawn]
