"""The background sweep: every N seconds one monitor, across all processes, brings levels up to date.

A sweep works in batches, each its own short transaction (``sweep.run``); its leader holds the
leadership for the whole sweep, across the batches. On PostgreSQL a session-level advisory lock,
taken on one connection that then runs every batch of the sweep and is released at its end: no
batch commits unless that session, and so the lock, is alive, and a leader that dies mid-sweep
releases it with its connection (the next one resumes from the sweep's mark). On SQLite a lease
row, read and renewed in every batch under the write lock SQLite's ``BEGIN IMMEDIATE`` already
holds; a leader that stops answering loses it when it runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import TextClause, delete, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from app.auth import SYSTEM
from app.clock import Clock, SystemClock
from app.config import MONITOR_BATCH_ORDERS, Settings
from app.db import Database, UnitOfWork, raise_if_outage
from app.errors import Unavailable
from app.forecast.drawing import DrawingPool
from app.jeopardy import policy as policies, sweep as sweeps
from app.jeopardy.models import MonitorLease
from app.jeopardy.service import SweepOutcome
from app.jeopardy.sweep import SweepTransactions
from app.observability.metrics import MONITOR_BACKLOG, MONITOR_BATCHES, MONITOR_ORDERS_EXAMINED, MONITOR_SWEEP_SECONDS
from app.turns import WritesInFlight

log = logging.getLogger(__name__)
LEASE_NAME = "jeopardy-monitor"


@dataclass
class SweepResult:
    led: bool  # False: another monitor holds the lock, this one did nothing
    outcome: SweepOutcome | None = None


class Monitor:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        policy: policies.Policy,
        interval: float = 30.0,
        name: str | None = None,
        batch_orders: int = MONITOR_BATCH_ORDERS,
        batch_seconds: float = 0.0,  # the service passes MONITOR_BATCH_SECONDS (settings); 0: fixed batches
        pool: DrawingPool | None = None,  # draws the sweep's forecasts (MONITOR_FORECAST_PROCESSES); None: here
    ) -> None:
        self.db, self.clock, self.interval = db, clock, interval
        self.pool = pool
        self.policy = policy
        self.batch_orders, self.batch_seconds = batch_orders, batch_seconds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=max(3 * interval, 10.0))
        self._task: asyncio.Task[None] | None = None
        self._sweeping = asyncio.Lock()  # this monitor's sweeps one after the other (a sweep's plan follows the mark)
        self.sweeps = 0

    def lock_key(self) -> int:
        """One advisory lock per database schema (test runs share a database in separate schemas)."""
        return zlib.crc32(f"ordertrack.jeopardy-monitor:{self.db.schema or 'public'}".encode())

    async def _lease(self, uow: UnitOfWork) -> bool:
        """SQLite: take or renew the lease, unless another monitor holds it unexpired."""
        lease = await uow.session.get(MonitorLease, LEASE_NAME)
        if lease is None:
            uow.session.add(MonitorLease(name=LEASE_NAME, holder=self.name, expires_at=uow.now + self.lease))
        elif lease.holder != self.name and lease.expires_at > uow.now:
            return False
        else:
            lease.holder, lease.expires_at = self.name, uow.now + self.lease
        await uow.session.flush()
        return True

    @asynccontextmanager
    async def _leading(self) -> AsyncIterator[SweepTransactions | None]:
        """The transactions of one sweep if this monitor leads, else None."""
        if self.db.is_sqlite:
            async with self.db.write(SYSTEM, self.clock.now()) as uow:
                led = await self._lease(uow)
            yield _Leased(self) if led else None
            return
        key = {"key": self.lock_key()}
        try:
            async with self.db.engine.connect() as conn:
                led = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), key)).scalar())
                await conn.commit()
                if not led:
                    yield None
                    return
                try:
                    tx = _OnLockedConnection(self, conn)
                    yield tx
                    if tx.restore is not None:
                        await conn.execute(tx.restore)
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                    await conn.commit()
                except BaseException:
                    await conn.invalidate()  # closing the session releases the lock, whatever state it is in
                    raise
        except Exception as exc:  # the lock's own connection lost: an outage like any other (UNAVAILABLE)
            raise_if_outage(exc)
            raise

    async def sweep(self) -> SweepResult:
        """One pass over the open work, in batches, if this monitor leads."""
        started = time.perf_counter()
        async with self._sweeping, self._leading() as tx:
            if tx is None:
                return SweepResult(led=False)
            outcome = await sweeps.run(
                tx, self.policy, self.batch_orders, batch_seconds=self.batch_seconds, progress=_progress, pool=self.pool
            )
        MONITOR_SWEEP_SECONDS.observe(time.perf_counter() - started)  # led sweeps only, committed
        self.sweeps += 1
        if outcome.level_changes or outcome.escalations or outcome.deescalations or outcome.stopped:
            log.info(
                "jeopardy sweep: %d orders in %d batches, %d level changes, %d escalations, %d de-escalations%s",
                outcome.orders_examined,
                outcome.batches,
                outcome.level_changes,
                outcome.escalations,
                outcome.deescalations,
                "; stopped: no longer the leader" if outcome.stopped else "",
            )
        return SweepResult(led=True, outcome=outcome)

    async def run(self) -> None:
        """Sweep every ``interval`` seconds until cancelled; a failed sweep is logged and retried."""
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Unavailable as exc:  # an outage, not a fault: one line, no stack trace
                log.warning(
                    "jeopardy sweep skipped, the database is unreachable (%s); retrying in %.0fs", _cause(exc), self.interval
                )
            except Exception:
                log.exception("jeopardy sweep failed; retrying in %.0fs", self.interval)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            if self.pool is not None:  # its worker processes start meanwhile, not in the first sweep
                self.pool.start()
            self._task = asyncio.create_task(self.run(), name="jeopardy-monitor")

    async def stop(self) -> None:
        """Stop sweeping, stop the drawing worker processes and give up the lease so another monitor
        takes over at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.pool is not None:  # its worker processes; a later sweep starts them again
            self.pool.close()
        if self.db.is_sqlite:
            try:
                async with self.db.write_session() as session:
                    await session.execute(
                        delete(MonitorLease).where(col(MonitorLease.name) == LEASE_NAME, col(MonitorLease.holder) == self.name)
                    )
                    await session.commit()
            except Exception:  # the lease runs out by itself
                log.warning("could not release the monitor lease", exc_info=True)


def _cause(exc: BaseException) -> str:
    return type(exc.__cause__ or exc).__name__


def _progress(remaining: int, examined: int | None) -> None:
    """The sweep's plan (``examined`` None), then each committed batch."""
    MONITOR_BACKLOG.set(remaining)
    if examined is not None:
        MONITOR_ORDERS_EXAMINED.inc(examined)
        MONITOR_BATCHES.inc()


class _OnLockedConnection:
    """PostgreSQL: every batch runs on the connection whose session holds the advisory lock, with the
    sweep's settings set for that session before the first (a sweep with no batch sets nothing)."""

    def __init__(self, monitor: Monitor, conn: AsyncConnection) -> None:
        self.monitor, self.conn = monitor, conn
        self.restore: TextClause | None = None  # what puts the session's own settings back

    def now(self) -> datetime:
        return self.monitor.clock.now()

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self.monitor.db.read()

    def writes(self) -> WritesInFlight:
        return self.monitor.db.writes

    def ahead(self, now: datetime) -> AbstractAsyncContextManager[UnitOfWork]:
        return sweeps.read_only(self.monitor.db, now)

    @asynccontextmanager
    async def batch(self, now: datetime) -> AsyncIterator[UnitOfWork | None]:
        if self.restore is None:  # once per sweep, not per batch
            self.restore = await sweeps.for_session(self.conn)
            await self.conn.commit()  # a batch's session begins its own transaction on the connection
        async with self.monitor.db.write(SYSTEM, now, connection=self.conn) as uow:
            yield uow


class _Leased:
    """SQLite: every batch renews the lease first; a monitor whose lease another has taken stops."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def now(self) -> datetime:
        return self.monitor.clock.now()

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self.monitor.db.read()

    def writes(self) -> WritesInFlight:
        return self.monitor.db.writes

    def ahead(self, now: datetime) -> AbstractAsyncContextManager[UnitOfWork]:
        return sweeps.read_only(self.monitor.db, now)

    @asynccontextmanager
    async def batch(self, now: datetime) -> AsyncIterator[UnitOfWork | None]:
        async with self.monitor.db.write(SYSTEM, now) as uow:
            yield uow if await self.monitor._lease(uow) else None


async def run_cli(settings: Settings, db: Database, policy: policies.Policy, *, once: bool, interval: float | None) -> None:
    """``ordertrack monitor``: sweep once and report, or keep sweeping until interrupted."""
    monitor = Monitor(
        db,
        SystemClock(),
        policy=policy,
        interval=interval or settings.monitor_interval_seconds,
        batch_orders=settings.monitor_batch_orders,
        batch_seconds=settings.monitor_batch_seconds,
        pool=DrawingPool(settings.monitor_forecast_processes),
    )
    try:
        if once:
            result = await monitor.sweep()
            if not result.led:
                print("another monitor holds the lock; nothing done")
            elif result.outcome is not None:
                o = result.outcome
                print(f"{o.level_changes} level changes, {o.escalations} escalations, {o.deescalations} de-escalations")
            return
        print(f"jeopardy monitor {monitor.name}: sweeping every {monitor.interval:g}s (Ctrl-C stops)")
        await monitor.run()
    finally:
        await monitor.stop()
        await db.dispose()
