"""A jeopardy sweep: the orders whose time came, reconciled like any write (``app/consistency.py``).

A sweep looks at the orders changed since the last sweep and those a threshold time has reached
(``candidates``), and those the escalation policy now escalates; the reconciliation stores their
levels, next check times and escalations, and records the events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.auth import SYSTEM
from app.consistency import reconcile
from app.db import Database, UnitOfWork
from app.jeopardy import candidates, rules
from app.jeopardy.policy import Policy, active, escalations_due
from app.jeopardy.service import SweepOutcome


async def evaluate(uow: UnitOfWork, policy: Policy | None = None) -> SweepOutcome:
    """One sweep's work, in the caller's transaction."""
    policy = policy or active()
    await uow.session.flush()
    ctx = rules.Context(now=uow.now, dialect=uow.dialect, at_risk_slack=policy.at_risk_slack)
    out = SweepOutcome()
    if uow.dialect == "postgresql":
        # The rules' statements over thousands of ids are estimated costly enough for PostgreSQL
        # to JIT-compile them: ~1 s of compiling for ~0.1 s of work.
        await uow.session.execute(text("SET LOCAL jit = off"))
    scope = await candidates.gather(uow, ctx)
    out.orders_examined = len(scope.order_ids)
    ids = set(scope.order_ids)
    # Escalations wait on time spent in a level, which no threshold marks: the policy names them.
    escalating = {d.order_id for d in await escalations_due(uow.session, policy, uow.now)} - ids
    if escalating:
        ids |= set(await candidates.lock_orders(uow, escalating))
    await reconcile(uow, ids, policy=policy, sweep=True, out=out)
    await candidates.finish(uow, scope)
    out.events = list(uow.pending)
    return out


async def dry_run(db: Database, now: Any, policy: Policy | None = None) -> SweepOutcome:
    """What a sweep would change now, computed in a transaction that is rolled back."""
    async with db.write_session() as session:
        uow = UnitOfWork(session=session, actor=SYSTEM, now=now, db=db)
        try:
            return await evaluate(uow, policy)
        finally:
            await session.rollback()
