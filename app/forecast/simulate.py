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
from datetime import datetime

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


def percentile(values: Sequence[datetime], share: float) -> datetime:
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
    # Per activity: its planned working time and the instant the plan reaches in its calendar.
    planned = {k: graph[k].calendar.between(graph[k].start, graph[k].end) for k in order if graph[k].kind == ACTIVITY}
    reached = {k: graph[k].calendar.add(graph[k].start, seconds) for k, seconds in planned.items()}
    finishes: dict[str, list[datetime]] = {k: [] for k in order}
    completions: list[datetime] = []
    chains: Counter[tuple[str, ...]] = Counter()
    uniform = rng.random
    # What each draw reads of a piece of work, looked up once (the loop runs draws x pieces times).
    steps = [(k, graph[k], graph[k].history.samples if k in uncertain else (), graph[k].kind == ACTIVITY)  # type: ignore[union-attr]
             for k in order]
    for _ in range(n):
        finish: dict[str, datetime] = {}
        decided_by: dict[str, str] = {}
        last, last_end = "", None
        for k, w, samples, is_activity in steps:
            if w.done_at is not None:
                end = w.done_at
            else:
                drawn = samples[int(uniform() * len(samples))] if samples else None
                if is_activity:
                    start = w.start
                    if not w.started:
                        # The latest predecessor that leaves no slack decides the start (and is on the chain).
                        for p in w.preds:
                            if p in finish and finish[p] >= start:
                                start, decided_by[k] = finish[p], p
                        if start < now:
                            start = now
                    if start == w.start and (drawn is None or drawn == 1.0):
                        end = w.end
                    else:  # the plan's end, moved by what the later start and the drawn factor add in working time
                        end = w.end + (w.calendar.add(start, planned[k] * (1.0 if drawn is None else drawn)) - reached[k])
                else:
                    end = w.start if drawn is None else w.calendar.add(w.start, drawn)
                if w.floor is not None and w.floor > end:
                    end = w.floor
                if end < now:
                    end = now
            finish[k] = end
            finishes[k].append(end)
            if last_end is None or end >= last_end:
                last, last_end = k, end
        chain = [last]
        while chain[-1] in decided_by:
            chain.append(decided_by[chain[-1]])
        chains[tuple(reversed(chain))] += 1
        completions.append(finish[last])
    completions.sort()
    per_work: dict[str, WorkForecast] = {}
    for k in order:
        values = sorted(finishes[k])
        due = graph[k].due
        on_time = 1.0 if due is None else sum(1 for v in values if v <= due) / n
        per_work[k] = WorkForecast(percentile(values, 0.5), percentile(values, 0.9), on_time)
    probability = sum(1 for c in completions if c <= committed) / n
    critical = max(chains.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return Forecast(percentile(completions, 0.5), percentile(completions, 0.9), probability, critical, per_work, n)
