"""The event bus: committed events reach every process's subscribers, complete, in order, once.

broadcaster carries the events between processes, but on its own it has no reconnect and
unbounded per-subscriber queues. So the bus:

- publishes each committed batch on one channel (or, if too big for the broker, a hint to read
  the log) from a task of its own, and hands it to its own subscribers at once;
- runs one sequencer task that delivers strictly by ``seq``: a duplicate is dropped, a jump is
  backfilled from the event log first, so local delivery is the log itself, in order, once;
- supervises the broker connection with a heartbeat through the channel; when it stops hearing
  (broker restarted, listener died silently), it reconnects with backoff and backfills the gap;
- reads the log every ``bus_poll_interval_seconds`` as a safety net (events published while
  the broker was down, or by a process that could not reach it);
- gives each local subscriber a bounded buffer; a subscriber that overflows is cut off with
  ``SlowConsumer`` while the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import Broadcast
from broadcaster._backends.redis import RedisBackend

from app.config import Settings
from app.db import Database
from app.errors import DomainError, ErrorCode, Unavailable
from app.events import Event, event_from_payload, event_payload
from app.realtime.catch_up import log_position, read_log

log = logging.getLogger("ordertrack.bus")

Accepts = Callable[[Event], bool]
PAGE = 500


class SlowConsumer(DomainError):
    """A subscriber fell further behind than its buffer; it resumes with ``after: <last cursor>``."""

    code = ErrorCode.SLOW_CONSUMER


class BrokerLost(Exception):
    """No message, not even our own heartbeat, came back from the broker in time."""


class LocalSubscriber:
    """One subscriber's bounded buffer of events, filled by the sequencer."""

    def __init__(self, accepts: Accepts, size: int) -> None:
        self.accepts = accepts
        self.size = size
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=size + 1)
        self.error: DomainError | None = None

    @property
    def overflowed(self) -> bool:
        return isinstance(self.error, SlowConsumer)

    @property
    def weight(self) -> int:
        """How many subscribers this buffer stands for (a fan-out group's feed stands for its members)."""
        return 1

    def offer(self, event: Event) -> bool:
        """Buffer the event if it is wanted; False when this subscriber has just been cut off."""
        if self.error is not None or not self.accepts(event):
            return True
        if self._queue.qsize() >= self.size:
            self._close(
                SlowConsumer(
                    f"This subscription fell more than {self.size} events behind and was stopped; "
                    "subscribe again with `after` set to the cursor of the last event received.",
                    buffer=self.size,
                )
            )
            return False
        self._queue.put_nowait(event)
        return True

    def _close(self, error: DomainError) -> None:
        self.error = error
        while not self._queue.empty():  # free the memory now; the log still has every event
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def get(self) -> Event:
        if self.error is not None:
            raise self.error
        item = await self._queue.get()
        if item is None:
            assert self.error is not None
            raise self.error
        return item

    def __aiter__(self) -> LocalSubscriber:
        return self

    async def __anext__(self) -> Event:
        return await self.get()


class EventBus:
    def __init__(
        self,
        db: Database,
        url: str = "memory://",
        *,
        channel: str = "ordertrack_events",
        buffer_size: int = 1000,
        poll_interval: float = 1.0,
        heartbeat: float = 1.0,
        reconnect_max: float = 10.0,
        max_message_bytes: int = 7000,
    ) -> None:
        self.db = db
        self.url = url
        self.channel = channel
        self.buffer_size = buffer_size
        self.poll_interval = poll_interval
        self.heartbeat = heartbeat
        self.reconnect_max = reconnect_max
        self.max_message_bytes = max_message_bytes
        self.id = uuid.uuid4().hex[:12]
        self.last_seq = 0  # every event up to here has been delivered locally, none after
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._lost_at: float | None = None  # when the broker was lost (None: connected, or never lost)
        self._broadcast: Broadcast | None = None
        self._subscribers: set[LocalSubscriber] = set()
        self.groups: dict[Any, Any] = {}  # fan-out groups by stream (app/realtime/fanout.py)
        self._inbox: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)
        self._tasks: list[asyncio.Task[None]] = []
        self._memo: OrderedDict[Any, asyncio.Future[Any]] = OrderedDict()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.last_seq = await log_position(self.db)
        for name, work in (
            ("sequencer", self._sequencer),
            ("broker", self._broker),
            ("sender", self._sender),
            ("poller", self._poller),
        ):
            task = asyncio.create_task(work(), name=f"bus-{name}")
            task.add_done_callback(self._task_ended)
            self._tasks.append(task)

    async def stop(self) -> None:
        # asyncio.timeout, not wait_for, everywhere in here: on Python 3.11 wait_for can swallow a
        # cancellation that races with its result, and a task that misses it never stops.
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks.clear()
        for sub in list(self._subscribers):
            sub._close(Unavailable("The server is shutting down; resume from your last cursor."))
        self._subscribers.clear()
        self.groups.clear()

    @staticmethod
    def _task_ended(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("bus task %s died", task.get_name(), exc_info=task.exception())

    # --- publishing (after commit) -------------------------------------------------------

    async def publish(self, events: Sequence[Event]) -> None:
        """A ``Database.publishers`` entry: hand a committed batch to local and remote subscribers.

        Never waits on the broker: the batch is delivered here at once and sent on by the outbox
        task, so a slow or dead broker does not slow down the mutation that committed it."""
        if not events:
            return
        self._inbox.put_nowait(list(events))
        if not self.connected.is_set():
            return  # broker down: other processes read these from the log (poll or reconnect backfill)
        message = json.dumps({"from": self.id, "events": [event_payload(e) for e in events]}, separators=(",", ":"))
        if len(message.encode()) > self.max_message_bytes:
            message = json.dumps({"from": self.id, "upto": events[-1].seq})
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:  # the broker cannot keep up; the log has the events
            log.warning("the broker outbox is full; dropped a message, other processes backfill from the log")

    async def _sender(self) -> None:
        while True:
            message = await self._outbox.get()
            broadcast = self._broadcast
            if broadcast is None:
                continue
            try:
                async with asyncio.timeout(2):
                    await broadcast.publish(self.channel, message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  the log has the events; nothing is lost
                self._report_lost(exc)

    # --- subscribing ---------------------------------------------------------------------

    @asynccontextmanager
    async def subscribe(self, accepts: Accepts = lambda e: True) -> AsyncIterator[LocalSubscriber]:
        """Events with ``seq`` above the current ``last_seq`` that ``accepts`` wants, in order."""
        sub = LocalSubscriber(accepts, self.buffer_size)
        self.add_subscriber(sub)
        try:
            yield sub
        finally:
            self.remove_subscriber(sub)

    def add_subscriber(self, sub: LocalSubscriber) -> None:
        self._subscribers.add(sub)

    def remove_subscriber(self, sub: LocalSubscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return sum(sub.weight for sub in self._subscribers)

    async def memo(self, key: Any, load: Callable[[], Awaitable[Any]]) -> Any:
        """Share one lookup among the subscribers that evaluate the same event."""
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = asyncio.ensure_future(load())
            while len(self._memo) > 2048:
                self._memo.popitem(last=False)
        try:
            return await asyncio.shield(found)
        except Exception:
            self._memo.pop(key, None)
            raise

    # --- the sequencer: the only place that delivers ---------------------------------------

    async def _sequencer(self) -> None:
        while True:
            batch = await self._inbox.get()
            try:
                if batch is None:
                    await self._backfill()
                else:
                    for event in batch:
                        if event.seq <= self.last_seq:
                            continue  # seen already (our own batch, or from the log)
                        if event.seq > self.last_seq + 1:
                            await self._backfill()  # a jump: read what is missing first
                        if event.seq == self.last_seq + 1:
                            self._deliver(event)
                        # else the log does not show it yet; the next poll delivers it in order
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  the database may be down; the poll retries
                log.warning("reading the event log failed: %s", exc)

    async def _backfill(self) -> None:
        while True:
            rows = await read_log(self.db, self.last_seq, limit=PAGE)
            for event in rows:
                if event.seq == self.last_seq + 1:
                    self._deliver(event)
            if len(rows) < PAGE:
                return

    def _deliver(self, event: Event) -> None:
        self.last_seq = event.seq
        for sub in list(self._subscribers):
            if not sub.offer(event):
                self._subscribers.discard(sub)
                log.info("cut off a subscriber %d events behind at seq %d", sub.size, event.seq)

    async def _poller(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            if self._inbox.empty():
                self._inbox.put_nowait(None)

    # --- the broker connection, supervised -------------------------------------------------

    async def _broker(self) -> None:
        backoff = 0.2
        while True:
            broadcast = make_broadcast(self.url)
            try:
                async with asyncio.timeout(5):
                    await broadcast.connect()
                async with broadcast.subscribe(self.channel) as subscriber:
                    self._broadcast = broadcast
                    self.connected.set()
                    backoff = 0.2
                    self._report_back()
                    self._inbox.put_nowait(None)  # whatever went past while we were away
                    await self._listen(broadcast, subscriber)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  any failure of the broker is handled the same way: reconnect
                self._report_lost(exc)
                log.debug("broker %s: %s: %s; reconnecting in %.1fs", _safe(self.url), type(exc).__name__, exc, backoff)
            finally:
                self._broadcast = None
                self.connected.clear()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    async with asyncio.timeout(2):
                        await broadcast.disconnect()
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.reconnect_max)

    def _report_lost(self, exc: BaseException) -> None:
        """One warning per outage, however many attempts fail while it lasts."""
        if self._lost_at is not None:
            return
        self._lost_at = asyncio.get_running_loop().time()
        log.warning(
            "broker %s lost (%s); other processes' events now come from the event log (every %.1fs) until it is back; reconnecting",
            _safe(self.url),
            type(exc).__name__,
            self.poll_interval,
        )

    def _report_back(self) -> None:
        if self._lost_at is not None:
            log.info("broker %s back after %.1fs", _safe(self.url), asyncio.get_running_loop().time() - self._lost_at)
            self._lost_at = None

    async def _listen(self, broadcast: Broadcast, subscriber: Any) -> None:
        pinger = asyncio.create_task(self._ping(broadcast))
        try:
            while True:
                try:
                    async with asyncio.timeout(self.heartbeat * 3):
                        message = await subscriber.get()
                except TimeoutError:
                    raise BrokerLost(f"nothing heard for {self.heartbeat * 3:.1f}s") from None
                if pinger.done():
                    raise BrokerLost("the heartbeat could not be published")
                self._receive(message.message)
        finally:
            pinger.cancel()
            pinger.add_done_callback(_retrieve)  # its failure is the broker's loss, reported once above

    def _receive(self, text: str) -> None:
        try:
            body = json.loads(text)
            if body.get("from") == self.id:
                return  # our own batch, delivered here when it was published
            if "events" in body:
                self._inbox.put_nowait([event_from_payload(p) for p in body["events"]])
            elif "upto" in body and int(body["upto"]) > self.last_seq:
                self._inbox.put_nowait(None)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignored a malformed bus message: %s", exc)

    async def _ping(self, broadcast: Broadcast) -> None:
        while True:
            async with asyncio.timeout(self.heartbeat * 2):
                await broadcast.publish(self.channel, json.dumps({"ping": self.id}))
            await asyncio.sleep(self.heartbeat)


class _RedisBackend(RedisBackend):
    """broadcaster 0.3's redis backend wakes its reader before SUBSCRIBE has completed; with redis-py 8
    the reader then finds no subscription, stops, and waits forever: nothing is ever received. Here
    the reader is woken only once the subscription exists.

    It also starts its reader before connecting, so a failed connect left a task pending that nothing
    would ever cancel ("Task was destroyed but it is pending" when it was collected): here the reader
    starts once connected, and a disconnect waits for it to end."""

    async def connect(self) -> None:
        await self._pubsub.connect()
        self._listener = asyncio.create_task(self._pubsub_listener())

    async def disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._listener
            self._listener = None
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await self._conn.aclose()

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.subscribe(channel)
        self._ready.set()


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Take a finished task's exception, so that asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()


def make_broadcast(url: str) -> Broadcast:
    url = broker_url(url)
    if url.startswith(("redis://", "rediss://")):
        return Broadcast(backend=_RedisBackend(url))
    return Broadcast(url)


def broker_url(url: str) -> str:
    """broadcaster's postgres backend wants a plain libpq URL; accept the SQLAlchemy spelling too."""
    for prefix in ("postgresql+asyncpg://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _safe(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def bus_from_settings(s: Settings, db: Database) -> EventBus:
    return EventBus(
        db,
        s.broadcast_url,
        channel=s.broadcast_channel,
        buffer_size=s.bus_buffer_size,
        poll_interval=s.bus_poll_interval_seconds,
        heartbeat=s.bus_heartbeat_seconds,
        reconnect_max=s.bus_reconnect_max_seconds,
        max_message_bytes=s.bus_max_message_bytes,
    )
