"""One business calendar and arithmetic in its working time (pure computation, UTC in and out).

A calendar's working time is a list of intervals (the working hours of each working day, in the
calendar's time zone, holidays left out). Each local year's intervals are built once, with the
working seconds before each interval, so a position in working time is one bisection: adding
business hours, or measuring them between two instants, costs a few lookups however far apart.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Less working time than this moves nothing: epoch positions summed over years are ~1e9 seconds, where
# a float64 keeps about a microsecond, so a smaller amount would be lost in the arrays' sums (landing
# on the end of the interval before instead of the start of the next) but not in one year's.
NO_TIME = 1e-6
HolidaySource = Callable[[int], frozenset[date]]  # a year -> its public holidays


@dataclass
class _Year:
    starts: list[float]  # epoch seconds of each working interval's start
    ends: list[float]
    before: list[float]  # working seconds in the year before each interval
    total: float
    first: float  # epoch seconds of the local year's start, and of the next one's
    after: float


def _no_holidays(_year: int) -> frozenset[date]:
    return frozenset()


@dataclass(eq=False)
class BusinessCalendar:
    """Working hours ``opens``-``closes`` (local) on ``days`` (0 = Monday), except on holidays."""

    name: str
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    days: frozenset[int] = frozenset(range(7))
    opens: time = time(0)
    closes: time | None = None  # None: midnight, the end of the day
    dates: frozenset[date] = frozenset()  # explicit holidays
    public_holidays: HolidaySource = _no_holidays
    _years: dict[int, _Year] = field(default_factory=dict, repr=False)
    _tables: dict[tuple[int, int], tuple[npt.NDArray[np.float64], ...]] = field(default_factory=dict, repr=False)

    @property
    def wall_clock(self) -> bool:
        """Every hour of every day, no holidays: working time is plain elapsed time."""
        return (
            self.days == frozenset(range(7))
            and self.opens == time(0)
            and self.closes is None
            and not self.dates
            and self.public_holidays is _no_holidays
        )

    @property
    def day_seconds(self) -> float:
        """Working seconds in one working day (what "1 business day" means)."""
        return self._day_end_seconds() - (self.opens.hour * 3600 + self.opens.minute * 60 + self.opens.second)

    def _day_end_seconds(self) -> float:
        if self.closes is None:
            return 86400.0
        return float(self.closes.hour * 3600 + self.closes.minute * 60 + self.closes.second)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.dates and day not in self.public_holidays(day.year)

    def _local_midnight(self, day: date) -> float:
        return datetime.combine(day, time(0), self.zone).timestamp()

    def _year(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is not None:
            return found
        starts: list[float] = []
        ends: list[float] = []
        before: list[float] = []
        total = 0.0
        day = date(year, 1, 1)
        holidays = self.public_holidays(year)
        close_offset = timedelta(seconds=self._day_end_seconds())
        while day.year == year:
            if day.weekday() in self.days and day not in self.dates and day not in holidays:
                # Through local wall-clock times, so a day that changes its UTC offset keeps its hours.
                start = datetime.combine(day, self.opens, self.zone).timestamp()
                end_local = datetime.combine(day, time(0)) + close_offset
                end = end_local.replace(tzinfo=self.zone).timestamp()
                if end > start:
                    starts.append(start)
                    ends.append(end)
                    before.append(total)
                    total += end - start
            day += timedelta(days=1)
        built = _Year(
            starts, ends, before, total, self._local_midnight(date(year, 1, 1)), self._local_midnight(date(year + 1, 1, 1))
        )
        self._years[year] = built
        return built

    def _year_of(self, epoch: float) -> int:
        for year, y in self._years.items():  # the few years built so far, before a time zone conversion
            if y.first <= epoch < y.after:
                return year
        return datetime.fromtimestamp(epoch, self.zone).year

    @staticmethod
    def _position(y: _Year, epoch: float) -> float:
        """Working seconds of the year before ``epoch``."""
        i = bisect_right(y.starts, epoch) - 1
        if i < 0:
            return 0.0
        return y.before[i] + min(epoch, y.ends[i]) - y.starts[i]

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds from ``start`` to ``end`` (negative when ``end`` is earlier)."""
        if self.wall_clock:
            return (end - start).total_seconds()
        a, b = start.timestamp(), end.timestamp()
        if b < a:
            return -self.between(end, start)
        ya, yb = self._year_of(a), self._year_of(b)
        if ya == yb:
            y = self._year(ya)
            return self._position(y, b) - self._position(y, a)
        first = self._year(ya)
        seconds = first.total - self._position(first, a)
        for year in range(ya + 1, yb):
            seconds += self._year(year).total
        return seconds + self._position(self._year(yb), b)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant ``seconds`` of working time after ``start`` (before it, when negative).

        Adding lands at the end of a working interval rather than the start of the next one;
        going back lands at the start of an interval rather than the end of the one before.
        """
        if abs(seconds) < NO_TIME:
            return start
        if self.wall_clock:  # exact to the microsecond, as timedelta arithmetic is
            return start + timedelta(seconds=seconds)
        return datetime.fromtimestamp(self.add_epoch(start.timestamp(), seconds), UTC)

    def add_epoch(self, t: float, seconds: float) -> float:
        """``add`` on epoch seconds (what the forecast's draws use: no datetimes made per draw)."""
        if abs(seconds) < NO_TIME or self.wall_clock:
            return t + seconds
        year = self._year_of(t)
        y = self._year(year)
        if seconds < 0:
            target = self._position(y, t) + seconds
            for _ in range(1000):
                if target >= 0 and y.starts:
                    i = bisect_right(y.before, target) - 1
                    return y.starts[i] + target - y.before[i]
                year -= 1
                y = self._year(year)
                target += y.total
            raise ValueError(f"calendar {self.name} has no working time behind")
        target = self._position(y, t) + seconds
        for _ in range(1000):
            if target <= y.total and y.starts:
                i = max(bisect_left(y.before, target) - 1, 0)
                return y.starts[i] + target - y.before[i]
            target -= y.total
            year += 1
            y = self._year(year)
        raise ValueError(f"calendar {self.name} has no working time ahead")

    def _table(self, first: int, last: int) -> tuple[npt.NDArray[np.float64], ...]:
        """The working intervals of these local years as arrays: starts, ends, working seconds before each."""
        found = self._tables.get((first, last))
        if found is None:
            starts: list[float] = []
            ends: list[float] = []
            before: list[float] = []
            total = 0.0
            for year in range(first, last + 1):
                y = self._year(year)
                starts += y.starts
                ends += y.ends
                before += [total + b for b in y.before]
                total += y.total
            found = self._tables[(first, last)] = (np.array(starts), np.array(ends), np.array(before))
        return found

    def add_epochs(self, t: npt.NDArray[np.float64], seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """``add`` on arrays of epoch seconds at once (the forecast's draws)."""
        if self.wall_clock or not len(t):
            return t + seconds
        reach = float(np.abs(seconds).max())
        # Years enough either side for the longest duration: working time per year is at least a
        # working day (a calendar has one working day a week at least).
        spare = int(reach / (self.day_seconds * 50)) + 1
        first, last = self._year_of(float(t.min())) - spare, self._year_of(float(t.max())) + spare
        starts, ends, before = self._table(first, last)
        i = np.maximum(np.searchsorted(starts, t, side="right") - 1, 0)
        target = before[i] + np.minimum(t, ends[i]) - starts[i] + seconds
        ahead = np.maximum(np.searchsorted(before, target, side="left") - 1, 0)
        behind = np.maximum(np.searchsorted(before, target, side="right") - 1, 0)
        j = np.where(seconds >= 0, ahead, behind)
        return np.where(np.abs(seconds) < NO_TIME, t, starts[j] + target - before[j])


ALWAYS = BusinessCalendar("always")  # every hour of every day, UTC: wall-clock time
