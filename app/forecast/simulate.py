"""A seeded Monte Carlo over an order's open work graph, in business time (pure computation).

Each draw gives every piece of work a finish: done work at its actual end; an activity starts at
its planned start, or later when a predecessor finishes later or the start has passed, and takes
its planned working time times a factor drawn from its kind's history, in its work group's
calendar; a party order delivers at its committed date plus a slip drawn from the party's history,
in the party's calendar. Nothing open finishes before now, nor before a later date it reported.
The order completes when its last work does. Without history a factor is 1 and a slip 0, so the
draw is the plan (one draw is enough, and ``basis`` says so).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.calendars.calendar import BusinessCalendar

ACTIVITY, PARTY_ORDER = "activity", "partyOrder"


@dataclass(frozen=True)
class History:
    """Closed cases of one kind of work: factors (activities) or slips in working seconds (parties)."""

    samples: tuple[float, ...] = ()
    late: int = 0  # cases over plan (factor above 1) or past the committed date (slip above 0)

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def late_rate(self) -> float:
        return self.late / len(self.samples) if self.samples else 0.0


@dataclass(frozen=True)
class Work:
    """One piece of an order's work, as the simulation sees it."""

    kind: str  # activity | partyOrder
    id: int
    name: str  # "install", "FibreCo's delivery"
    calendar: BusinessCalendar
    start: datetime  # activity: actual start, else planned start; party order: its committed (or expected) date
    end: datetime  # activity: planned end (as shifted by the actual start); party order: the same date as start
    started: bool = False
    done_at: datetime | None = None  # done work: when it finished
    floor: datetime | None = None  # a later date it reported: it finishes no earlier
    due: datetime | None = None  # a party order is on time by this date
    preds: tuple[str, ...] = ()
    history: History | None = None  # None or too few samples: as planned

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class WorkForecast:
    p50: datetime
    p90: datetime
    probability: float  # of finishing by ``due`` (1.0 when the work has none)


@dataclass(frozen=True)
class Forecast:
    completion_p50: datetime | None
    completion_p90: datetime | None
    on_time_probability: float
    critical_path: tuple[str, ...]  # work keys, first to last
    work: dict[str, WorkForecast] = field(default_factory=dict)
    draws: int = 0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[max(math.ceil(share * len(values)) - 1, 0)]


def _order(work: dict[str, Work]) -> list[str]:
    """Keys with every predecessor first (predecessors outside the graph, or in a cycle, are ignored)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(key: str, path: frozenset[str]) -> None:
        if key in seen or key in path or key not in work:
            return
        for p in work[key].preds:
            visit(p, path | {key})
        seen.add(key)
        done.append(key)

    for key in sorted(work):
        visit(key, frozenset())
    return done


def simulate(
    work: Sequence[Work], committed: datetime, now: datetime, *, draws: int, seed: int, min_samples: int
) -> Forecast:
    """Draw the order's completion ``draws`` times (once when nothing is uncertain)."""
    graph = {w.key: w for w in work}
    order = _order(graph)
    if not order:
        return Forecast(None, None, 1.0 if committed >= now else 0.0, ())
    uncertain = {k for k in order if graph[k].done_at is None and graph[k].history and graph[k].history.count >= min_samples}  # type: ignore[union-attr]
    n = draws if uncertain else 1
    rng = random.Random(seed)
    uniform = rng.random
    now_e = now.timestamp()
    # Draws run on epoch seconds (no datetimes made per draw); each piece of work's constants once:
    # key, work, samples, activity?, start, end, done, floor, its planned working time and the instant
    # the plan reaches in its calendar.
    steps = []
    for k in order:
        w = graph[k]
        planned = w.calendar.between(w.start, w.end) if w.kind == ACTIVITY else 0.0
        start_e = w.start.timestamp()
        steps.append((
            k, w, w.history.samples if k in uncertain else (), w.kind == ACTIVITY, start_e, w.end.timestamp(),  # type: ignore[union-attr]
            None if w.done_at is None else w.done_at.timestamp(), None if w.floor is None else w.floor.timestamp(),
            planned, w.calendar.add_epoch(start_e, planned),
        ))
    finishes: dict[str, list[float]] = {k: [] for k in order}
    completions: list[float] = []
    chains: Counter[tuple[str, ...]] = Counter()
    for _ in range(n):
        finish: dict[str, float] = {}
        decided_by: dict[str, str] = {}
        last, last_end = "", -1e18
        for k, w, samples, is_activity, start_e, end_e, done_e, floor_e, planned, reached in steps:
            if done_e is not None:
                end = done_e
            else:
                drawn = samples[int(uniform() * len(samples))] if samples else None
                if is_activity:
                    start = start_e
                    if not w.started:
                        # The latest predecessor that leaves no slack decides the start (and is on the chain).
                        for p in w.preds:
                            if p in finish and finish[p] >= start:
                                start, decided_by[k] = finish[p], p
                        if start < now_e:
                            start = now_e
                    if start == start_e and (drawn is None or drawn == 1.0):
                        end = end_e
                    else:  # the plan's end, moved by what the later start and the drawn factor add in working time
                        end = end_e + (w.calendar.add_epoch(start, planned * (1.0 if drawn is None else drawn)) - reached)
                else:
                    end = start_e if drawn is None else w.calendar.add_epoch(start_e, drawn)
                if floor_e is not None and floor_e > end:
                    end = floor_e
                if end < now_e:
                    end = now_e
            finish[k] = end
            finishes[k].append(end)
            if end >= last_end:
                last, last_end = k, end
        chain = [last]
        while chain[-1] in decided_by:
            chain.append(decided_by[chain[-1]])
        chains[tuple(reversed(chain))] += 1
        completions.append(last_end)
    completions.sort()
    per_work: dict[str, WorkForecast] = {}
    for k in order:
        values = sorted(finishes[k])
        due = graph[k].due
        on_time = 1.0 if due is None else sum(1 for v in values if v <= due.timestamp()) / n
        per_work[k] = WorkForecast(_instant(percentile(values, 0.5)), _instant(percentile(values, 0.9)), on_time)
    committed_e = committed.timestamp()
    probability = sum(1 for c in completions if c <= committed_e) / n
    critical = max(chains.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return Forecast(_instant(percentile(completions, 0.5)), _instant(percentile(completions, 0.9)), probability, critical, per_work, n)


def _instant(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
