"""Fan-out groups: subscribers of the same stream share one bus subscription, one filter run and one
rendering per event; each keeps its own bounded buffer.

With thousands of dashboards on one stream, the per-event work (the filter with its database look-up,
executing and encoding the selection) done once per subscriber is most of the server's time. A group
does it once per event and hands every member the result, so what is left per subscriber is sending
it. Knows nothing of GraphQL: a member brings a ``Renderer``, and members whose renderers have the
same ``key`` share one rendering of each event.

A member waiting for its next item with nothing buffered may take it ``direct``: the group's task
hands it straight to the member's socket instead of waking the member's own task for it (that
wake-up, and the layers of generators it resumes, cost more than the write itself).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.events import Event
from app.realtime.bus import Accepts, LocalSubscriber, SlowConsumer

if TYPE_CHECKING:
    from app.realtime.bus import EventBus

log = logging.getLogger("ordertrack.fanout")

Check = Callable[[Event], Awaitable[bool]]
# Delivers (seq, item) at once from the caller's task: True when it is taken, False when the
# member's own task must deliver it (the item is then buffered as usual).
Direct = Callable[[int, Any], bool]


@dataclass(frozen=True)
class Renderer:
    """What a member makes of an event (``None``: nothing, the member gets the event itself);
    members with the same ``key`` get the same rendering."""

    key: Hashable
    render: Callable[[Event], Awaitable[Any]]


class Member:
    """One subscriber of a group: a bounded buffer of ``(seq, rendering or event)``."""

    __slots__ = ("_items", "_waiter", "after", "direct", "error", "renderer", "size")

    def __init__(self, renderer: Renderer, size: int, direct: Direct | None = None) -> None:
        self.renderer = renderer
        self.size = size
        self.direct = direct
        # The subscriber has every item up to this sequence number from elsewhere (the log); until it
        # says so (None) nothing goes direct, since only it knows what it has replayed.
        self.after: int | None = None
        self.error: BaseException | None = None
        self._items: deque[tuple[int, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None

    @property
    def overflowed(self) -> bool:
        return isinstance(self.error, SlowConsumer)

    def offer(self, seq: int, item: Any) -> bool:
        """Hand the item over, direct or through the buffer; False when this member has just been cut off."""
        if self.error is not None:
            return False
        waiter = self._waiter
        if waiter is not None and not waiter.done() and self.direct is not None and self.after is not None:
            # Parked in get() with nothing buffered, so nothing can be overtaken.
            if seq <= self.after:
                return True  # replayed from the log already
            if self.direct(seq, item):
                self.after = seq
                return True
        if len(self._items) >= self.size:
            self.close(
                SlowConsumer(
                    f"This subscription fell more than {self.size} events behind and was stopped; "
                    "subscribe again with `after` set to the cursor of the last event received.",
                    buffer=self.size,
                )
            )
            return False
        self._items.append((seq, item))
        self._wake()
        return True

    def close(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
            self._items.clear()  # free the memory now; the log still has every event
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def get(self) -> tuple[int, Any]:
        while not self._items:
            if self.error is not None:
                raise self.error
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._items.popleft()


class _Feed(LocalSubscriber):
    """The group's one subscription on the bus; it counts as the group's members."""

    def __init__(self, group: Group, accepts: Accepts, size: int) -> None:
        super().__init__(accepts, size)
        self.group = group

    @property
    def weight(self) -> int:
        return len(self.group.members)


class Group:
    """The members following one stream: each event is filtered once and rendered once per renderer key."""

    def __init__(self, bus: EventBus, key: Hashable, accepts: Accepts, check: Check) -> None:
        self.bus = bus
        self.key = key
        self.check = check
        self.members: dict[Member, None] = {}  # insertion-ordered set
        self.feed = _Feed(self, accepts, bus.buffer_size)
        self.closed = False
        bus.add_subscriber(self.feed)
        # A context of its own: the task must not carry the first member's request or socket along.
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"fanout-{key!r}"[:80], context=contextvars.Context()
        )

    async def _run(self) -> None:
        try:
            while True:
                event = await self.feed.get()
                if not self.members or not await self.check(event):
                    continue
                rendered: dict[Hashable, Any] = {}
                for member in list(self.members):
                    key = member.renderer.key
                    if key in rendered:
                        item = rendered[key]
                    else:
                        item = rendered[key] = await self._render(member.renderer, event)
                    if not member.offer(event.seq, event if item is None else item):
                        self.members.pop(member, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  SlowConsumer or Unavailable from the bus, a failed check: every member gets it
            self._end(exc)

    @staticmethod
    async def _render(renderer: Renderer, event: Event) -> Any:
        try:
            return await renderer.render(event)
        except Exception:
            log.debug("shared rendering of event %d failed", event.seq, exc_info=True)
            return None

    def _end(self, error: BaseException) -> None:
        self.closed = True
        self.bus.remove_subscriber(self.feed)
        for member in self.members:
            member.close(error)
        self.members.clear()

    def close(self) -> None:
        self.closed = True
        self.bus.remove_subscriber(self.feed)
        self.task.cancel()


@asynccontextmanager
async def join(
    bus: EventBus, key: Hashable, accepts: Accepts, check: Check, renderer: Renderer, direct: Direct | None = None
) -> AsyncIterator[Member]:
    """Membership of the group following stream ``key``: every event that ``accepts`` and ``check``
    pass, with ``seq`` above the bus's ``last_seq`` now, arrives in order as rendered by ``renderer``,
    through ``direct`` while the member waits with nothing buffered and has set ``after``."""
    group = bus.groups.get(key)
    if group is None or group.closed:
        group = bus.groups[key] = Group(bus, key, accepts, check)
    member = Member(renderer, bus.buffer_size, direct)
    group.members[member] = None
    try:
        yield member
    finally:
        group.members.pop(member, None)
        if not group.members and not group.closed:
            group.close()
        if group.closed and bus.groups.get(key) is group:
            del bus.groups[key]
