"""A seeded Monte Carlo over an order's open work graph, in business time (pure computation).

Each draw gives every piece of work a finish: done work at its actual end; an activity starts at
its planned start, or later when a predecessor finishes later or the start has passed, and takes
its planned working time times a factor drawn from its kind's history, in its work group's
calendar; a party order delivers at its committed date plus a slip drawn from the party's history,
in the party's calendar. Nothing open finishes before now, nor before a later date it reported.
The order completes when its last work does. Without history a factor is 1 and a slip 0, so the
draw is the plan (one draw is enough, and ``basis`` says so). All draws of a piece of work are
taken at once, as numpy arrays of epoch seconds (``numpy.random.default_rng(seed)``: reproducible).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

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


def _rank(n: int, share: float) -> int:
    """The index of the nearest-rank percentile among n sorted values."""
    return max(math.ceil(share * n) - 1, 0)


def percentile(values: npt.NDArray[np.float64], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return float(values[_rank(len(values), share)])


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


def simulate(work: Sequence[Work], committed: datetime, now: datetime, *, draws: int, seed: int, min_samples: int) -> Forecast:
    """Draw the order's completion ``draws`` times (once when nothing is uncertain)."""
    graph = {w.key: w for w in work}
    order = _order(graph)
    if not order:
        return Forecast(None, None, 1.0 if committed >= now else 0.0, ())
    uncertain = {k for k in order if graph[k].done_at is None and graph[k].history and graph[k].history.count >= min_samples}  # type: ignore[union-attr]
    if not uncertain:
        return plan(graph, order, committed, now)
    return _draws(graph, order, uncertain, committed, now, draws=draws, seed=seed)


@dataclass(frozen=True)
class Job:
    """One order's forecast to draw: ``simulate``'s arguments (plain data: it may cross to a worker process)."""

    work: Sequence[Work]
    committed: datetime
    now: datetime
    draws: int
    seed: int
    min_samples: int

    def run(self) -> Forecast:
        return simulate(self.work, self.committed, self.now, draws=self.draws, seed=self.seed, min_samples=self.min_samples)


def run_all(jobs: Sequence[Job]) -> list[Forecast]:
    """Every job's forecast, in order (what a drawing worker process runs)."""
    return [job.run() for job in jobs]


def _draws(
    graph: dict[str, Work], order: list[str], uncertain: set[str], committed: datetime, now: datetime, *, draws: int, seed: int
) -> Forecast:
    """``draws`` draws of every piece of work at once (numpy arrays); ``uncertain`` work draws from its history."""
    n = draws if uncertain else 1
    rng = np.random.default_rng(seed)
    now_e = now.timestamp()
    index = {k: i for i, k in enumerate(order)}
    # Every piece of work is drawn n times at once, in topological order: arrays of epoch seconds.
    finish: dict[str, npt.NDArray[np.float64]] = {}
    decided = np.full((len(order), n), -1)  # the predecessor (index) that decided each draw's start
    for k in order:
        w = graph[k]
        if w.done_at is not None:
            finish[k] = np.full(n, w.done_at.timestamp())
            continue
        drawn = np.asarray(w.history.samples)[rng.integers(0, w.history.count, n)] if k in uncertain else None  # type: ignore[union-attr]
        start_e, end_e = w.start.timestamp(), w.end.timestamp()
        if w.kind == ACTIVITY:
            planned = w.calendar.between(w.start, w.end)
            reached = w.calendar.add_epoch(start_e, planned)
            start = np.full(n, start_e)
            if not w.started:
                # The latest predecessor that leaves no slack decides the start (and is on the chain).
                for p in w.preds:
                    if p in finish:
                        later = finish[p] >= start
                        start = np.where(later, finish[p], start)
                        decided[index[k]] = np.where(later, index[p], decided[index[k]])
                start = np.maximum(start, now_e)
            factor = np.ones(n) if drawn is None else drawn
            # The plan's end, moved by what the later start and the drawn factor add in working time.
            moved = end_e + (w.calendar.add_epochs(start, planned * factor) - reached)
            end = np.where((start == start_e) & (factor == 1.0), end_e, moved)
        else:
            end = np.full(n, start_e) if drawn is None else w.calendar.add_epochs(np.full(n, start_e), drawn)
        if w.floor is not None:
            end = np.maximum(end, w.floor.timestamp())
        finish[k] = np.maximum(end, now_e)
    stack = np.vstack([finish[k] for k in order])
    last = len(order) - 1 - np.argmax(stack[::-1], axis=0)  # the latest work; of equals, the last in order
    completions = stack[last, np.arange(n)]
    critical = _critical_chain(order, decided, last)
    # Every piece of work's percentiles and chance at once (one sort of the whole table).
    ranked = np.sort(stack, axis=1)
    p50s, p90s = ranked[:, _rank(n, 0.5)].tolist(), ranked[:, _rank(n, 0.9)].tolist()
    dues = np.array([math.inf if graph[k].due is None else graph[k].due.timestamp() for k in order])  # type: ignore[union-attr]
    chances = (np.count_nonzero(ranked <= dues[:, None], axis=1) / n).tolist()
    per_work = {
        k: WorkForecast(_instant(p50s[i]), _instant(p90s[i]), 1.0 if graph[k].due is None else chances[i])
        for i, k in enumerate(order)
    }
    completions.sort()
    probability = float(np.count_nonzero(completions <= committed.timestamp()) / n)
    return Forecast(
        _instant(percentile(completions, 0.5)), _instant(percentile(completions, 0.9)), probability, critical, per_work, n
    )


def plan(graph: dict[str, Work], order: list[str], committed: datetime, now: datetime) -> Forecast:
    """The one draw of a graph with nothing uncertain (every factor 1, every slip 0): ``_draws`` with
    ``draws=1`` on plain floats. A sweep draws hundreds of these a batch, and numpy's cost per call on
    one-element arrays made it 5x slower; ``tests/test_forecast_simulation.py`` keeps the two equal."""
    now_e = now.timestamp()
    index = {k: i for i, k in enumerate(order)}
    finish: dict[str, float] = {}
    decided = [-1] * len(order)
    for k in order:
        w = graph[k]
        if w.done_at is not None:
            finish[k] = w.done_at.timestamp()
            continue
        start_e, end_e = w.start.timestamp(), w.end.timestamp()
        if w.kind == ACTIVITY:
            start = start_e
            if not w.started:
                for p in w.preds:
                    if p in finish and finish[p] >= start:
                        start, decided[index[k]] = finish[p], index[p]
                start = max(start, now_e)
            if start == start_e:
                end = end_e
            else:
                planned = w.calendar.between(w.start, w.end)
                end = end_e + (w.calendar.add_epoch(start, planned) - w.calendar.add_epoch(start_e, planned))
        else:
            end = start_e
        if w.floor is not None:
            end = max(end, w.floor.timestamp())
        finish[k] = max(end, now_e)
    values = [finish[k] for k in order]
    completion = max(values)
    last = len(order) - 1 - values[::-1].index(completion)  # the latest work; of equals, the last in order
    chain = [last]
    while decided[chain[-1]] >= 0:
        chain.append(decided[chain[-1]])
    per_work = {
        k: WorkForecast(
            when := _instant(finish[k]),
            when,
            1.0 if (due := graph[k].due) is None else float(finish[k] <= due.timestamp()),
        )
        for k in order
    }
    return Forecast(
        _instant(completion),
        _instant(completion),
        float(completion <= committed.timestamp()),
        tuple(order[i] for i in reversed(chain)),
        per_work,
        1,
    )


def _critical_chain(order: list[str], decided: npt.NDArray[np.int_], last: npt.NDArray[np.int_]) -> tuple[str, ...]:
    """The chain (first to last) that decided completion in most draws."""
    n = last.shape[0]
    links = [last]
    while True:
        before = decided[links[-1], np.arange(n)]
        before = np.where(links[-1] < 0, -1, before)
        if (before < 0).all():
            break
        links.append(before)
    if n == 1:  # one draw: its chain
        best: tuple[int, ...] = tuple(int(link[0]) for link in links)
    else:
        counts = Counter(zip(*(link.tolist() for link in links)))
        best = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return tuple(order[i] for i in reversed(best) if i >= 0)


def _instant(epoch: float) -> datetime:
    """The drawn instant; one past what a datetime holds (plans at year 9999 plus any slip) is its last."""
    try:
        return datetime.fromtimestamp(float(epoch), UTC)
    except (OverflowError, ValueError, OSError):
        return datetime.max.replace(tzinfo=UTC) if epoch > 0 else datetime.min.replace(tzinfo=UTC)
