"""A token bucket per API token for mutations (in memory, per process)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class MutationRateLimiter:
    """``rate_per_minute`` mutations per token on average, bursts up to ``burst``.

    Buckets live in this process only: with N processes a token may make up to N times the rate.
    The number of buckets kept is bounded; the least recently used is forgotten first.
    """

    def __init__(
        self,
        rate_per_minute: int,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = float(burst or rate_per_minute)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, cost: int = 1) -> float | None:
        """Spend ``cost`` units; None when allowed, else the seconds until it would be."""
        with self._lock:
            now = self.clock()
            level, last = self._buckets.pop(key, (self.capacity, now))
            level = min(self.capacity, level + (now - last) * self.rate)
            if level >= cost:
                level -= cost
                wait = None
            else:
                wait = (cost - level) / self.rate if self.rate > 0 else float("inf")
            self._buckets[key] = (level, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait
