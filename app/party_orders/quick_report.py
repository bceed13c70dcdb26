"""The common progress report in two statements: read, then one statement that writes and commits.

Partners send progress reports far more often than anything else. The usual one (percent and/or
note on a party order already in progress, fresh idempotency key) changes no work state, so it
needs neither the customer order's lock nor a roll-up. It is written here by one statement in its
own implicit transaction (PostgreSQL): the party order's update, the report, the idempotency key
and the event, numbered from ``event_sequence`` inside that statement. The statement is
conditional on the party order's version and state as read, so a concurrent change makes it write
nothing. The sequence row lock is taken last and released by the statement's own commit, without a
round trip to this process in between, which is what lets reports commit at disk speed instead of
one event-loop turn at a time; numbers stay gap-free and in commit order (see ``app/events.py``).

Anything else (SQLite, an unknown or foreign order, a key seen before, another state, a new expected
date, a milestone, bad input, a lost race) returns None and the caller runs the full domain path
(``partner.report_progress``), which gives the exact result or error.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app import validation as v
from app.auth import Actor
from app.db import Database, as_loaded
from app.errors import DomainError
from app.events import Event, jsonable
from app.party_orders.models import PartyOrder

if TYPE_CHECKING:
    from app.party_orders.partner import ProgressReport

READ = """
SELECT po.order_id, po.state, po.acknowledged_at IS NOT NULL AS acknowledged, po.version, po.percent_complete,
       po.expected_delivery, p.reporting_interval_hours,
       EXISTS (SELECT FROM party_request_key k WHERE k.party_id = $2 AND k.key = $3) AS seen
FROM party_order po JOIN party p ON p.id = po.party_id
WHERE po.id = $1 AND po.party_id = $2
"""

# The CTEs chain through their outputs, so the party order row is locked first, then the report and
# the key are inserted, and only then is the sequence row locked (held until this statement commits).
WRITE = """
WITH po AS (
    UPDATE party_order
    SET percent_complete = COALESCE($3, percent_complete), version = version + 1,
        updated_at = $4, last_report_at = $4, next_report_due = $5
    WHERE id = $1 AND party_id = $2 AND version = $6 AND state = 'inProgress' AND acknowledged_at IS NOT NULL
    RETURNING *
), report AS (
    INSERT INTO party_progress_report (party_order_id, percent_complete, note, reported_by, reported_at)
    SELECT id, $3, $7, $8, $4 FROM po
    RETURNING id
), request_key AS (
    INSERT INTO party_request_key (party_id, key, operation, fingerprint, result_kind, result_id, created_at)
    SELECT party_id, $9, 'reportProgress', $10, 'partyOrder', id, $4 FROM po
    RETURNING id
), numbered AS (
    UPDATE event_sequence SET last = last + 1
    WHERE id = 1 AND EXISTS (SELECT FROM report) AND EXISTS (SELECT FROM request_key)
    RETURNING last
), appended AS (
    INSERT INTO event (seq, at, type, entity, entity_id, order_id, party_order_id, party_id, actor, actor_role, data)
    SELECT numbered.last, $4, 'partyProgressReported', 'partyProgressReport', report.id, po.order_id, po.id, po.party_id,
           $8, $11, $12::jsonb
    FROM numbered, report, po
    RETURNING seq
)
SELECT po.*, report.id AS report_id, (SELECT seq FROM appended) AS seq FROM po, report
"""

COLUMNS = tuple(PartyOrder.model_fields)


async def report_progress(
    db: Database, actor: Actor, now: datetime, party_order_id: int, key: str, data: ProgressReport, sent: str
) -> PartyOrder | None:
    """Commit the usual report (``sent``: the request's fingerprint) and return the party order as stored;
    None when the full path must decide."""
    if db.is_sqlite or not actor.is_partner or actor.party_id is None:
        return None
    if data.expected_delivery is not None or data.milestone_id is not None:
        return None  # these move dates or milestones: the full path rolls them up
    try:
        key = v.required_text(key, "idempotencyKey", max_len=128)
        note = v.text(data.note, "note")
    except DomainError:
        return None
    percent = data.percent_complete
    if (percent is not None and not 0 <= percent <= 100) or (note is None and percent is None):
        return None
    async with db.direct() as conn:
        db.statements.count += 1
        seen = await conn.fetchrow(READ, party_order_id, actor.party_id, key)
        if seen is None or seen["seen"] or seen["state"] != "inProgress" or not seen["acknowledged"]:
            return None
        after = seen["percent_complete"] if percent is None else percent
        event_data = {
            "before": {"percent_complete": seen["percent_complete"], "expected_delivery": seen["expected_delivery"]},
            "after": {"percent_complete": after, "expected_delivery": seen["expected_delivery"]},
            "note": note, "milestone": None,
        }
        event_data = jsonable(event_data)
        db.statements.count += 1
        try:
            row = await conn.fetchrow(
                WRITE, party_order_id, actor.party_id, percent, now, now + timedelta(hours=seen["reporting_interval_hours"]),
                seen["version"], note, actor.name, key, sent, actor.role.value, json.dumps(event_data),
            )
        except _unique_violation():
            return None  # the same key committed meanwhile: the full path replays or refuses it
    if row is None:
        return None  # changed meanwhile
    po = as_loaded(PartyOrder, {name: row[name] for name in COLUMNS})
    event = as_loaded(Event, {
        "seq": row["seq"], "at": now, "type": "partyProgressReported", "entity": "partyProgressReport",
        "entity_id": row["report_id"], "order_id": po.order_id, "party_order_id": po.id, "party_id": po.party_id,
        "actor": actor.name, "actor_role": actor.role.value, "data": event_data,
    })
    await db.publish([event])
    return po


def _unique_violation() -> type[Exception]:
    import asyncpg

    return asyncpg.UniqueViolationError
