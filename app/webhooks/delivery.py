"""Delivering events to webhooks: read from the event log after each webhook's cursor, in order, at least once.

For each webhook one attempt at a time, by one process at a time: on PostgreSQL the attempt runs in
a transaction holding ``pg_try_advisory_xact_lock`` (so leadership ends with the transaction, also
when the process dies, and the cursor moves in the transaction that saw the answer); on SQLite a
lease row, taken before the request and checked when its outcome is stored. A webhook's events go
strictly in log order: the one after the cursor is retried with exponential backoff and jitter up
to a cap, and nothing after it goes first. After ``max_attempts`` failures in a row the webhook is
marked failing with the reason (it is still retried at the cap). A repeat carries the same
``webhook-id``. The event bus only rings a doorbell; the log is what is delivered.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
import zlib
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import case, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.columns import table_of
from app.config import Settings
from app.db import Database
from app.errors import DomainError
from app.events import Event, read_after
from app.realtime.bus import LocalSubscriber
from app.webhooks import documents, signing, urls
from app.webhooks.models import (
    ACTIVE,
    DELIVERED,
    FAILED,
    FAILING,
    PAUSED,
    PENDING,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookLease,
)
from app.webhooks.payloads import PayloadFormat, encode, message_id, thin, tmf
from app.webhooks.service import matches, view_for

if TYPE_CHECKING:
    from app.realtime.bus import EventBus

log = logging.getLogger("ordertrack.webhooks")
PAGE = 200
MAX_ERROR = 1000


@dataclass(frozen=True)
class DeliveryConfig:
    policy: urls.UrlPolicy
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_response_bytes: int = 64 * 1024
    backoff_base: float = 1.0
    backoff_cap: float = 600.0
    max_attempts: int = 10
    poll_interval: float = 5.0
    lease_seconds: float = 60.0
    concurrency: int = 4

    @classmethod
    def of(cls, s: Settings) -> DeliveryConfig:
        return cls(
            policy=policy_of(s),
            connect_timeout=s.webhook_connect_timeout_seconds,
            read_timeout=s.webhook_read_timeout_seconds,
            max_response_bytes=s.webhook_max_response_bytes,
            backoff_base=s.webhook_backoff_base_seconds,
            backoff_cap=s.webhook_backoff_cap_seconds,
            max_attempts=s.webhook_max_attempts,
            poll_interval=s.webhook_poll_interval_seconds,
            lease_seconds=max(s.webhook_lease_seconds, s.webhook_connect_timeout_seconds + s.webhook_read_timeout_seconds + 5),
            concurrency=s.webhook_concurrency,
        )

    def backoff(self, failures: int) -> float:
        """Seconds before attempt ``failures + 1``: doubling from the base up to the cap, the upper half jittered."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(0, failures - 1))
        return delay / 2 + random.uniform(0, delay / 2)


def policy_of(s: Settings) -> urls.UrlPolicy:
    hosts = tuple(h.strip() for h in s.webhook_allowed_hosts.split(",") if h.strip())
    return urls.UrlPolicy(allowed_hosts=hosts, allow_private=s.webhook_allow_private_networks)


@dataclass
class Plan:
    """What one turn found: the event to send (if any) and how far the cursor may move past unwanted ones."""

    webhook: Webhook
    cursor: int
    skip_to: int | None = None
    event: Event | None = None
    view: dict[str, Any] | None = None
    more: bool = False  # a full page was read: look again at once


@dataclass
class Answer:
    ok: bool
    status_code: int | None
    duration_ms: float
    error: str | None = None


@dataclass
class Turn:
    """What a turn tells the worker: come back after ``wait`` seconds (0: at once), when rung (None), or stop."""

    wait: float | None = None
    gone: bool = False
    sent: Answer | None = None


def now() -> datetime:
    return datetime.now(UTC)


class Deliverer:
    def __init__(
        self, db: Database, config: DeliveryConfig, *, name: str | None = None, client: httpx.AsyncClient | None = None
    ) -> None:
        self.db, self.config = db, config
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout, pool=config.connect_timeout),
            follow_redirects=False,
            trust_env=False,
        )
        self._own_client = client is None
        self._slots = asyncio.Semaphore(config.concurrency)
        self._bells: dict[int, asyncio.Event] = {}
        self._pages: dict[int, tuple[int, list[Event], bool]] = {}  # webhook -> (read after, events, page was full)
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._refresh = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.attempts = 0

    # --- one attempt ---------------------------------------------------------------------------

    def lock_key(self, webhook_id: int) -> int:
        """One advisory lock per webhook and database schema (test runs share a database)."""
        return zlib.crc32(f"ordertrack.webhook:{self.db.schema or 'public'}:{webhook_id}".encode())

    async def turn(self, webhook_id: int) -> Turn:
        """Deliver (or try to) the next event a webhook wants, if this process leads for it."""
        async with self._slots:
            if self.db.is_sqlite:
                return await self._turn_with_lease(webhook_id)
            return await self._turn_with_lock(webhook_id)

    async def _turn_with_lock(self, webhook_id: int) -> Turn:
        async with self.db.write_session() as session:
            got = (
                await session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self.lock_key(webhook_id)})
            ).scalar()
            if not got:
                return Turn(wait=self.config.poll_interval)  # another process delivers for it
            # A commit lost with the server (not the process: that rolls back) means one repeat, with the same
            # webhook-id, which at-least-once allows; waiting for the disk cost more than the rest of the turn.
            await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            plan = await self._plan(session, webhook_id)
            if isinstance(plan, Turn):
                return plan
            answer = await self._send(plan) if plan.event is not None else None
            result = await self._store(session, plan, answer)
            await session.commit()
            return result

    async def _turn_with_lease(self, webhook_id: int) -> Turn:
        if not await self._take_lease(webhook_id):
            return Turn(wait=self.config.poll_interval)
        async with self.db.read() as session:
            plan = await self._plan(session, webhook_id)
            if isinstance(plan, Turn):
                return plan
            session.expunge(plan.webhook)
        answer = await self._send(plan) if plan.event is not None else None
        async with self.db.write_session() as session:
            lease = await session.get(WebhookLease, webhook_id)
            if lease is None or lease.holder != self.name:
                log.warning("lost the lease of webhook %d during an attempt; another process repeats it", webhook_id)
                return Turn(wait=self.config.poll_interval)
            lease.expires_at = now() + timedelta(seconds=self.config.lease_seconds)
            result = await self._store(session, plan, answer)
            await session.commit()
            return result

    async def _take_lease(self, webhook_id: int) -> bool:
        async with self.db.write_session() as session:
            at = now()
            lease = await session.get(WebhookLease, webhook_id)
            if lease is None:
                session.add(
                    WebhookLease(
                        webhook_id=webhook_id, holder=self.name, expires_at=at + timedelta(seconds=self.config.lease_seconds)
                    )
                )
            elif lease.holder != self.name and lease.expires_at > at:
                return False
            else:
                lease.holder, lease.expires_at = self.name, at + timedelta(seconds=self.config.lease_seconds)
            await session.commit()
            return True

    async def _plan(self, session: AsyncSession, webhook_id: int) -> Plan | Turn:
        webhook = await session.get(Webhook, webhook_id, populate_existing=True)
        if webhook is None:
            return Turn(gone=True)
        if webhook.state == PAUSED:
            return Turn(wait=None)
        if webhook.next_attempt_at is not None and webhook.next_attempt_at > now():
            return Turn(wait=(webhook.next_attempt_at - now()).total_seconds())
        events, more = await self._events_after(session, webhook_id, webhook.cursor)
        plan = Plan(webhook=webhook, cursor=webhook.cursor, more=more)
        for event in events:
            view = view_for(webhook, event) if matches(webhook, event) else None
            if view is not None:
                plan.event, plan.view = event, view
                return plan
            plan.skip_to = event.seq
        return plan

    async def _events_after(self, session: AsyncSession, webhook_id: int, cursor: int) -> tuple[list[Event], bool]:
        """The log after ``cursor``, a page at a time: the rest of the last page read is kept, since the
        log is append-only and gap-free (a page read up to seq n held every event up to n)."""
        kept = self._pages.get(webhook_id)
        if kept is not None and kept[0] <= cursor:
            rest = [e for e in kept[1] if e.seq > cursor]
            if rest:
                return rest, kept[2]
        events = await read_after(session, cursor, limit=PAGE)
        more = len(events) == PAGE
        self._pages[webhook_id] = (cursor, events, more)
        return events, more

    async def _body(self, plan: Plan, msg_id: str) -> bytes:
        assert plan.view is not None
        fmt = PayloadFormat(plan.webhook.payload_format)
        if fmt is PayloadFormat.TMF:
            return encode(tmf(plan.view, msg_id))
        if fmt is PayloadFormat.THIN:
            return encode(thin(plan.view, msg_id))
        return encode(await documents.render(plan.webhook.document or "", plan.view, msg_id))

    def secrets_in_force(self, webhook: Webhook) -> list[str]:
        keys = [webhook.secret]
        if webhook.previous_secret and webhook.previous_secret_until and webhook.previous_secret_until > now():
            keys.append(webhook.previous_secret)
        return keys

    async def _send(self, plan: Plan) -> Answer:
        """One signed POST; any failure (refused address, timeout, non-2xx) is an answer with its error."""
        assert plan.event is not None
        webhook = plan.webhook
        msg_id = message_id(webhook.id or 0, plan.event.seq)
        started = time.perf_counter()
        self.attempts += 1
        try:
            body = await self._body(plan, msg_id)
            target = await urls.check(webhook.url, self.config.policy)  # again now: DNS may have changed
            headers = {
                **signing.headers(self.secrets_in_force(webhook), msg_id, int(time.time()), body),
                "content-type": "application/json",
                "user-agent": "ordertrack-webhooks/1",
                "host": httpx.URL(target.url).netloc.decode(),
            }
            request = self.client.build_request(
                "POST", target.connect_url, content=body, headers=headers, extensions={"sni_hostname": target.host}
            )
            response = await self.client.send(request, stream=True)
            try:
                read = 0
                if not response.is_stream_consumed:  # a transport may hand over an answer already read
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= self.config.max_response_bytes:
                            break  # the answer's status is all we need; the rest is not read
            finally:
                await response.aclose()
            elapsed = (time.perf_counter() - started) * 1000
            if 200 <= response.status_code < 300:
                return Answer(ok=True, status_code=response.status_code, duration_ms=elapsed)
            return Answer(ok=False, status_code=response.status_code, duration_ms=elapsed, error=f"HTTP {response.status_code}")
        except DomainError as exc:
            return Answer(
                ok=False,
                status_code=None,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=f"{exc.details.get('reason', exc.code.value)}: {exc.message}"[:MAX_ERROR],
            )
        except httpx.TimeoutException as exc:
            return Answer(
                ok=False,
                status_code=None,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=f"timeout ({type(exc).__name__})",
            )
        except httpx.HTTPError as exc:
            return Answer(
                ok=False,
                status_code=None,
                duration_ms=(time.perf_counter() - started) * 1000,
                error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR],
            )

    async def _store(self, session: AsyncSession, plan: Plan, answer: Answer | None) -> Turn:
        """The attempt's outcome, the cursor and the webhook's state, in one transaction (three statements).

        Every change to the webhook is guarded by the cursor the plan started from: a cursor is never
        moved by a deliverer that did not read it, and a staff change made meanwhile (pause) is kept."""
        webhook_id = plan.webhook.id or 0
        guard = (Webhook.id == webhook_id) & (Webhook.cursor == plan.cursor)
        if plan.event is None or answer is None:
            if plan.skip_to is not None and not await self._move(session, webhook_id, guard, {"cursor": plan.skip_to}):
                return Turn(wait=0)
            return Turn(wait=0 if plan.more else None)
        at, seq, msg_id = now(), plan.event.seq, message_id(webhook_id, plan.event.seq)
        failures = 0 if answer.ok else plan.webhook.failures + 1
        delay = 0.0 if answer.ok else self.config.backoff(failures)
        next_at = None if answer.ok else at + timedelta(seconds=delay)
        giving_up = failures >= self.config.max_attempts
        values: dict[str, Any] = {"failures": failures, "next_attempt_at": next_at}
        if answer.ok:
            values.update(
                cursor=seq,
                state=case((col(Webhook.state) == FAILING, ACTIVE), else_=col(Webhook.state)),
                failure_reason=case((col(Webhook.state) == FAILING, None), else_=col(Webhook.failure_reason)),
            )
        else:
            if plan.skip_to is not None:
                values["cursor"] = plan.skip_to
            if giving_up:
                values.update(
                    state=case((col(Webhook.state) == ACTIVE, FAILING), else_=col(Webhook.state)),
                    failure_reason=(
                        f"Event {seq} ({plan.event.type}, {msg_id}) failed {failures} times in a row; last: {answer.error}. "
                        f"Later events wait; retried every {self.config.backoff_cap:g}s or by retryWebhookDelivery."
                    )[:MAX_ERROR],
                )
        if not await self._move(session, webhook_id, guard, values):
            return Turn(wait=0)
        state = DELIVERED if answer.ok else FAILED if giving_up else PENDING
        table = table_of(WebhookDelivery)
        row = {"state": state, "last_attempt_at": at, "delivered_at": at if answer.ok else None, "next_attempt_at": next_at}
        upsert = (sqlite_insert if self.db.is_sqlite else pg_insert)(table).values(
            webhook_id=webhook_id,
            event_seq=seq,
            event_type=plan.event.type,
            message_id=msg_id,
            attempts=1,
            created_at=at,
            **row,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=["webhook_id", "event_seq"], set_={**row, "attempts": table.c.attempts + 1}
        )
        delivery_id = (await session.execute(upsert.returning(table.c.id))).scalar_one()
        await session.execute(
            insert(table_of(WebhookAttempt)).values(
                delivery_id=delivery_id,
                at=at,
                status_code=answer.status_code,
                duration_ms=round(answer.duration_ms, 3),
                error=answer.error,
            )
        )
        return Turn(wait=delay, sent=answer)

    async def _move(self, session: AsyncSession, webhook_id: int, guard: Any, values: dict[str, Any]) -> bool:
        """Update the webhook if its cursor is still the plan's; False (logged) when it is not, or it is gone."""
        moved = await session.execute(update(Webhook).where(guard).values(**values).execution_options(synchronize_session=False))
        if moved.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult; execute() is typed as Result
            return True
        log.warning("webhook %d changed under this deliverer (deleted, or its cursor moved); attempt not stored", webhook_id)
        self._pages.clear()
        return False

    # --- running --------------------------------------------------------------------------------

    def ring(self) -> None:
        """New events may be in the log: every worker looks."""
        for bell in self._bells.values():
            bell.set()

    def refresh(self) -> None:
        """Webhooks were added, changed or removed here: look at the list again now."""
        self._refresh.set()
        self.ring()

    async def _work(self, webhook_id: int) -> None:
        bell = self._bells.setdefault(webhook_id, asyncio.Event())
        bell.set()
        while True:
            bell.clear()
            try:
                result = await self.turn(webhook_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook %d: a delivery turn failed; trying again", webhook_id)
                result = Turn(wait=self.config.poll_interval)
            if result.gone:
                self._pages.pop(webhook_id, None)
                return
            if result.wait == 0:
                continue
            wait = self.config.poll_interval if result.wait is None else min(result.wait, self.config.poll_interval)
            with suppress(TimeoutError):
                await asyncio.wait_for(bell.wait(), timeout=max(wait, 0.001))

    async def _webhook_ids(self) -> set[int]:
        async with self.db.read() as session:
            await session.connection(execution_options={"background": True})
            return {wid for wid in (await session.execute(select(col(Webhook.id)))).scalars() if wid is not None}  # primary keys

    async def run(self) -> None:
        """Keep one worker per webhook until cancelled."""
        while True:
            self._refresh.clear()
            try:
                ids = await self._webhook_ids()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("webhooks: reading the list failed; trying again", exc_info=True)
                ids = set(self._workers)
            for webhook_id in ids - set(self._workers):
                self._workers[webhook_id] = asyncio.create_task(self._work(webhook_id), name=f"webhook-{webhook_id}")
            for webhook_id, task in list(self._workers.items()):
                if task.done():
                    self._workers.pop(webhook_id)
                    self._bells.pop(webhook_id, None)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._refresh.wait(), timeout=self.config.poll_interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="webhook-deliverer")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.warning("a webhook worker ended with an error", exc_info=True)
        self._task, self._workers = None, {}
        if self._own_client:
            await self.client.aclose()
        if self.db.is_sqlite:
            try:
                async with self.db.write_session() as session:
                    await session.execute(delete(WebhookLease).where(col(WebhookLease.holder) == self.name))
                    await session.commit()
            except Exception:
                log.warning("could not release the webhook leases", exc_info=True)


class Doorbell(LocalSubscriber):
    """A bus subscriber that keeps nothing: any event rings the deliverer, which reads the log."""

    def __init__(self, deliverer: Deliverer) -> None:
        super().__init__(lambda e: True, 1)
        self.deliverer = deliverer

    @property
    def weight(self) -> int:
        return 0  # not a client's subscription

    def offer(self, event: Event) -> bool:
        self.deliverer.ring()
        return True


def attach(deliverer: Deliverer, bus: EventBus | None) -> Callable[[], None]:
    """Ring the deliverer on every event the bus sees; returns the detach."""
    if bus is None:
        return lambda: None
    bell = Doorbell(deliverer)
    bus.add_subscriber(bell)
    return lambda: bus.remove_subscriber(bell)


async def run_cli(settings: Settings, db: Database) -> None:
    """``ordertrack deliver``: deliver until interrupted (other processes may deliver too: one per webhook at a time)."""
    from app.realtime.bus import EventBus

    bus = EventBus(
        db,
        settings.broadcast_url,
        channel=settings.broadcast_channel,
        poll_interval=settings.bus_poll_interval_seconds,
        heartbeat=settings.bus_heartbeat_seconds,
        reconnect_max=settings.bus_reconnect_max_seconds,
    )
    deliverer = Deliverer(db, DeliveryConfig.of(settings))
    async with AsyncExitStack() as stack:
        stack.push_async_callback(db.dispose)
        await bus.start()
        stack.push_async_callback(bus.stop)
        stack.callback(attach(deliverer, bus))
        stack.push_async_callback(deliverer.stop)
        print(f"webhook deliverer {deliverer.name} (Ctrl-C stops)")
        await deliverer.run()
