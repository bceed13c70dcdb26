"""The usual progress report commits in one statement; under concurrency nothing is lost and the event
log stays gap-free in commit order (PostgreSQL, where the quick path runs)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlmodel import col

from app.auth import Actor, Role
from app.clock import FrozenClock
from app.columns import table_of
from app.db import Database
from app.events import Event, jsonable
from app.orders import service
from app.party_orders import partner
from app.party_orders.models import PartyOrder, PartyProgressReport
from tests.api import Api
from tests.jeopardy_support import monitor
from tests.live import wait_until
from tests.party import (
    REPORT,
    acknowledge,
    create_party,
    order_with_party_items,
    partner_api,
    requisition,
)

pytestmark = pytest.mark.parametrize("db", ["postgres"], indirect=True)

STAFF = Actor(name="tester", role=Role.STAFF)
_keys = itertools.count(1)


async def _in_progress(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock, n: int
) -> tuple[Api, Actor, list[int]]:
    """A partner with ``n`` party orders it acknowledged and reported on once (so they are in progress), swept."""
    party = await create_party(staff)
    api = await partner_api(http, db, clock, party["id"])
    ids = []
    for _ in range(n):
        order = await order_with_party_items(staff, clock.now(), party["id"])
        (po,) = await requisition(staff, order["id"])
        await acknowledge(api, po["id"], clock.now())
        await api.ok(REPORT, {"id": po["id"], "key": f"first-{po['id']}", "input": {"percentComplete": 1}})
        ids.append(int(po["id"]))
    assert (await monitor(db, clock).sweep()).led  # the check times the fast path needs, stored as the monitor does
    return api, Actor(name=f"partner-{party['id']}", role=Role.PARTNER, party_id=int(party["id"])), ids


async def _count(db: Database, model: Any) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def submitted(db: Database, actor: Actor, now: datetime, po_id: int, key: str, data: partner.ProgressReport) -> PartyOrder:
    """``partner.submit_progress``, whose answer to a progress report is the party order."""
    result = await partner.submit_progress(db, actor, now, po_id, key, data)
    assert isinstance(result, PartyOrder), result
    return result


async def test_a_usual_report_is_one_statement_records_what_the_full_path_would_and_a_retry_returns_it(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _, actor, (po_id,) = await _in_progress(staff, http, db, clock, 1)
    published: list[Event] = []

    async def remember(events: Sequence[Event]) -> None:
        published.extend(events)

    db.publishers.append(remember)
    moved = clock.now() + timedelta(days=9, microseconds=123456)  # the full path (a new date) words the event
    await partner.submit_progress(db, actor, clock.now(), po_id, "dated", partner.ProgressReport(expected_delivery=moved))
    report = partner.ProgressReport(percent_complete=40, note="cabinet installed")
    before = db.statements.count
    first = await submitted(db, actor, clock.now(), po_id, "usual-1", report)
    assert db.statements.count - before == 1
    assert (first.percent_complete, first.state, first.expected_delivery) == (40, "inProgress", moved)
    again = await submitted(db, actor, clock.now(), po_id, "usual-1", report)
    assert (again.id, again.version, again.percent_complete) == (first.id, first.version, 40)
    dated, usual = [e for e in published if e.type == "partyProgressReported"]
    assert dated.data["after"]["expected_delivery"] == moved.isoformat()
    assert (usual.type, usual.entity, usual.data) == (
        "partyProgressReported",
        "partyProgressReport",
        {
            "before": {"percent_complete": 1, "expected_delivery": moved.isoformat()},
            "after": {"percent_complete": 40, "expected_delivery": moved.isoformat()},
            "note": "cabinet installed",
            "milestone": None,
        },
    )
    async with db.read() as session:
        stored = (await session.execute(select(Event).where(col(Event.seq) == usual.seq))).scalar_one()
        assert stored.data == usual.data and stored.order_id == first.order_id and stored.party_id == actor.party_id
        assert stored.seq == published[-1].seq
        assert (
            await session.execute(select(col(PartyOrder.version)).where(col(PartyOrder.id) == po_id))
        ).scalar_one() == first.version
        assert jsonable(first.next_report_due) == jsonable(clock.now() + timedelta(hours=48))


async def test_concurrent_reports_and_other_writes_are_all_committed_with_gap_free_seqs_in_commit_order(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _, actor, po_ids = await _in_progress(staff, http, db, clock, 4)
    order_ids = []
    async with db.read() as session:
        order_ids = list(
            (await session.execute(select(col(PartyOrder.order_id)).where(col(PartyOrder.id).in_(po_ids)))).scalars()
        )
        seq_before = (await session.execute(text("SELECT last FROM event_sequence"))).scalar_one()
    reports_before = await _count(db, PartyProgressReport)
    versions_before = await _versions(db, po_ids)
    published: list[int] = []

    async def remember(events: Sequence[Event]) -> None:
        published.extend(e.seq for e in events)

    db.publishers.append(remember)
    done = asyncio.Event()
    gaps: list[tuple[int, list[int]]] = []
    seen: list[int] = []

    async def read_like_a_subscriber() -> None:
        """Reads ``seq > last seen`` over and over: a later commit must never show before an earlier one."""
        last = seq_before
        while True:
            finished = done.is_set()
            async with db.read() as session:
                rows = list(
                    (
                        await session.execute(text("SELECT seq FROM event WHERE seq > :last ORDER BY seq"), {"last": last})
                    ).scalars()
                )
            if rows != list(range(last + 1, last + 1 + len(rows))):
                gaps.append((last, rows))
            seen.extend(rows)
            last = rows[-1] if rows else last
            if finished:
                return
            await asyncio.sleep(0)

    async def report(n: int) -> None:
        po_id = po_ids[n % len(po_ids)]  # several writers per party order, waiting on its row lock
        key = f"busy-{next(_keys)}"
        dated = clock.now() + timedelta(days=10 + n) if n % 10 == 0 else None  # a new date takes the full path
        data = partner.ProgressReport(percent_complete=n % 100, note=f"report {n}", expected_delivery=dated)
        result = await partner.submit_progress(db, actor, clock.now(), po_id, key, data)
        async with db.read() as session:  # committed before the answer
            assert (
                await session.execute(text("SELECT result_id FROM party_request_key WHERE key = :k"), {"k": key})
            ).scalar_one() == result.id

    async def note(n: int) -> None:  # a full-path writer on the same orders, holding the sequence lock its own way
        async with db.write(STAFF, clock.now()) as uow:
            await service.add_note(uow, order_ids[n % len(order_ids)], f"staff note {n}")

    reader = asyncio.create_task(read_like_a_subscriber())
    await asyncio.gather(*(report(n) for n in range(60)), *(note(n) for n in range(12)))
    done.set()
    await reader

    async with db.read() as session:
        seqs = list(
            (await session.execute(select(col(Event.seq)).where(col(Event.seq) > seq_before).order_by(col(Event.seq)))).scalars()
        )
        reported = (
            await session.execute(
                select(func.count()).select_from(Event).where(Event.seq > seq_before, col(Event.type) == "partyProgressReported")
            )
        ).scalar_one()
    assert gaps == []
    assert seqs == list(range(seq_before + 1, seq_before + 1 + len(seqs))) == seen
    assert sorted(published) == seqs
    assert reported == 60 and await _count(db, PartyProgressReport) == reports_before + 60
    after = await _versions(db, po_ids)
    assert sum(after[i] - versions_before[i] for i in po_ids) == 60  # every report bumped its order once


async def _versions(db: Database, po_ids: list[int]) -> dict[int, int]:
    async with db.read() as session:
        return dict(
            (
                await session.execute(
                    select(table_of(PartyOrder).c.id, col(PartyOrder.version)).where(col(PartyOrder.id).in_(po_ids))
                )
            ).all()
        )


async def test_a_usual_report_waits_for_the_customer_order_lock_as_every_writer_does(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _, actor, (po_id,) = await _in_progress(staff, http, db, clock, 1)
    (version,) = (await _versions(db, [po_id])).values()
    async with db.write_session() as holder:  # e.g. the jeopardy sweep or a cancellation holding the order
        order_id = (
            await holder.execute(
                text(
                    "SELECT o.id FROM customer_order o JOIN party_order po ON po.order_id = o.id WHERE po.id = :id FOR UPDATE OF o"
                ),
                {"id": po_id},
            )
        ).scalar_one()
        holder_pid = (await holder.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        report = asyncio.create_task(
            submitted(db, actor, clock.now(), po_id, "while-locked", partner.ProgressReport(percent_complete=70))
        )

        async def blocked() -> int:
            async with db.read() as session:
                return int(
                    (
                        await session.execute(
                            text("SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"),
                            {"holder": holder_pid},
                        )
                    ).scalar_one()
                )

        await wait_until(blocked, timeout=10, what="the report's statement to wait for that lock")
        assert await blocked() == 1 and not report.done()
        assert await _versions(db, [po_id]) == {po_id: version}  # the party order is untouched meanwhile
        await holder.rollback()
    done = await report
    assert (done.percent_complete, done.version, done.order_id) == (70, version + 1, order_id)


async def test_a_report_on_a_kept_connection_the_server_closed_commits_on_a_new_one(
    staff: Api, http: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    _, actor, (po_id,) = await _in_progress(staff, http, db, clock, 1)
    await partner.submit_progress(db, actor, clock.now(), po_id, "warm", partner.ProgressReport(percent_complete=20))
    kept = [driver.get_server_pid() for _, driver in db._direct_idle]
    assert kept
    async with db.write_session() as session:  # as a database restart would
        for pid in kept:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    done = await submitted(db, actor, clock.now(), po_id, "after", partner.ProgressReport(percent_complete=30))
    assert done.percent_complete == 30
    assert await _count(db, PartyProgressReport) == 3
