"""The background sweep: every N seconds one monitor, across all processes, brings levels up to date.

Leadership is taken inside the sweep's own transaction, so it can never outlive it: on PostgreSQL
``pg_try_advisory_xact_lock`` (released by commit or rollback, also when the process dies); on SQLite
a lease row, read and renewed under the write lock SQLite's ``BEGIN IMMEDIATE`` already holds.
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
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, text

from app.auth import SYSTEM
from app.clock import Clock, SystemClock
from app.config import Settings
from app.db import Database, UnitOfWork
from app.errors import Unavailable
from app.jeopardy import policy as policies
from app.jeopardy.models import MonitorLease
from app.jeopardy.service import SweepOutcome
from app.jeopardy.sweep import evaluate
from app.observability.metrics import MONITOR_SWEEP_SECONDS

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
        interval: float = 30.0,
        policy: policies.Policy | None = None,
        name: str | None = None,
    ) -> None:
        self.db, self.clock, self.interval = db, clock, interval
        self.policy = policy
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=max(3 * interval, 10.0))
        self._task: asyncio.Task[None] | None = None
        self.sweeps = 0

    def lock_key(self) -> int:
        """One advisory lock per database schema (test runs share a database in separate schemas)."""
        return zlib.crc32(f"ordertrack.jeopardy-monitor:{self.db.schema or 'public'}".encode())

    async def _lead(self, uow: UnitOfWork) -> bool:
        if uow.dialect == "postgresql":
            row = await uow.session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self.lock_key()})
            return bool(row.scalar())
        lease = await uow.session.get(MonitorLease, LEASE_NAME)
        if lease is None:
            uow.session.add(MonitorLease(name=LEASE_NAME, holder=self.name, expires_at=uow.now + self.lease))
        elif lease.holder != self.name and lease.expires_at > uow.now:
            return False
        else:
            lease.holder, lease.expires_at = self.name, uow.now + self.lease
        await uow.session.flush()
        return True

    async def sweep(self) -> SweepResult:
        """One pass over the open work, if this monitor leads; its changes and events commit together."""
        started = time.perf_counter()
        async with self.db.write(SYSTEM, self.clock.now()) as uow:
            if not await self._lead(uow):
                return SweepResult(led=False)
            outcome = await evaluate(uow, self.policy or policies.active())
        MONITOR_SWEEP_SECONDS.observe(time.perf_counter() - started)  # led sweeps only, committed
        self.sweeps += 1
        if outcome.level_changes or outcome.escalations or outcome.deescalations:
            log.info(
                "jeopardy sweep: %d level changes, %d escalations, %d de-escalations",
                outcome.level_changes, outcome.escalations, outcome.deescalations,
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
                log.warning("jeopardy sweep skipped, the database is unreachable (%s); retrying in %.0fs", _cause(exc), self.interval)
            except Exception:
                log.exception("jeopardy sweep failed; retrying in %.0fs", self.interval)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="jeopardy-monitor")

    async def stop(self) -> None:
        """Stop sweeping and give up the lease so another monitor takes over at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.db.is_sqlite:
            try:
                async with self.db.write_session() as session:
                    await session.execute(delete(MonitorLease).where(MonitorLease.name == LEASE_NAME, MonitorLease.holder == self.name))
                    await session.commit()
            except Exception:  # the lease runs out by itself
                log.warning("could not release the monitor lease", exc_info=True)


def _cause(exc: BaseException) -> str:
    return type(exc.__cause__ or exc).__name__


def install(policy_file: str | None = None) -> policies.Policy:
    """Put the policy in force in this process."""
    policy = policies.load_policy(policy_file)
    policies.use(policy)
    return policy


async def run_cli(settings: Settings, db: Database, *, once: bool, interval: float | None) -> None:
    """``ordertrack monitor``: sweep once and report, or keep sweeping until interrupted."""
    install(settings.jeopardy_policy_file)
    monitor = Monitor(db, SystemClock(), interval=interval or settings.monitor_interval_seconds)
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
