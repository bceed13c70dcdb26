"""The common progress report in one statement that writes everything and commits by itself.

Partners send progress reports far more often than anything else. The usual one (percent and/or
note on a party order already in progress and in no jeopardy, fresh idempotency key, and no check
time of its customer order's rows come: the party order's and the customer order's are stored and
ahead, none of its activities' or other party orders' has come) changes nothing the reconciliation
(``app/consistency.py``) derives: no work state, no date, and a report only puts the party order's
next report due later, which cannot raise its level. So the full path's reconciliation would record
nothing, and this path leaves it out. A check time not stored (no sweep has seen the row since it was
made) is not known to be ahead: the full path decides. ``tests/test_partner_report_paths.py`` holds
both paths to the same rows and events. It is written here by one statement in its own implicit transaction (PostgreSQL):
it locks the customer order and the party order as ``core.load_party_order`` does, updates the party
order, inserts the report, the idempotency key and the event, numbered from ``event_sequence``
inside that statement. The sequence row is locked last and released by the statement's own commit,
without a round trip to this process in between, so reports commit one after another at disk speed
instead of one event-loop turn at a time; the numbers stay gap-free and in commit order (see
``app/events.py``).

Anything else (SQLite, an unknown or foreign order, a key seen before, another state, a party order
in jeopardy (the report may end it) or with a check time come or unknown, a new expected date, a milestone, bad input, the same key racing in) returns None having written nothing, and the
caller runs the full domain path (``partner.report_progress``), which gives the exact result or error.
"""

from __future__ import annotations

from datetime import datetime

from app import validation as v
from app.auth import Actor
from app.db import Database, StaleConnection, as_loaded
from app.errors import DomainError
from app.events import Event
from app.party_orders.models import PartyOrder
from app.party_orders.progress import ProgressReport

# An instant as Python's ``datetime.isoformat()`` writes a UTC one, so both paths store the same event text.
_ISO = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN to_char({0} AT TIME ZONE 'UTC', 'US') = '000000' THEN '' ELSE to_char({0} AT TIME ZONE 'UTC', '.US') END
    || '+00:00'"""

# Each step reads the one before, which orders the locks as every writer takes them: the customer
# order, then the party order (FOR UPDATE waits for a concurrent writer and then sees its row), then
# the report and the key, and only then the sequence row, held until this statement commits. No row
# comes back when the party order is not this party's, not in progress, or the key was seen: nothing
# was written, and the full path decides. ``jeopardy_check_at + 0``: the rows are found by their keys,
# not by a range scan of the check-time index (most check times are ahead, so that range is most rows).
REPORT = f"""
WITH customer AS MATERIALIZED (
    SELECT o.id FROM customer_order o
    WHERE o.id = (SELECT po.order_id FROM party_order po WHERE po.id = $1 AND po.party_id = $2)
    FOR UPDATE
), target AS MATERIALIZED (
    SELECT po.id, po.percent_complete, p.reporting_interval_hours
    FROM customer JOIN party_order po ON po.order_id = customer.id JOIN party p ON p.id = po.party_id
    WHERE po.id = $1 AND po.party_id = $2 AND po.state = 'inProgress' AND po.acknowledged_at IS NOT NULL
      AND po.jeopardy_level = 'none' AND po.jeopardy_check_at + 0 > $10
      AND (SELECT o.jeopardy_check_at > $10 FROM customer_order o WHERE o.id = customer.id)
      AND NOT EXISTS (SELECT FROM activity a WHERE a.order_id = customer.id AND a.jeopardy_check_at + 0 <= $10)
      AND NOT EXISTS (SELECT FROM party_order p2 WHERE p2.order_id = customer.id AND p2.jeopardy_check_at + 0 <= $10)
      AND NOT EXISTS (SELECT FROM party_request_key k WHERE k.party_id = $2 AND k.key = $6)
    FOR UPDATE OF po
), po AS (
    UPDATE party_order t
    SET percent_complete = COALESCE($3, t.percent_complete), version = t.version + 1, updated_at = $4,
        last_report_at = $4, next_report_due = $4::timestamptz + make_interval(hours => target.reporting_interval_hours)
    FROM target WHERE t.id = target.id
    RETURNING t.*, target.percent_complete AS percent_before
), report AS (
    INSERT INTO party_progress_report (party_order_id, percent_complete, note, reported_by, reported_at)
    SELECT id, $3, $5, $8, $4 FROM po
    RETURNING id
), request_key AS (
    INSERT INTO party_request_key (party_id, key, operation, fingerprint, result_kind, result_id, created_at)
    SELECT party_id, $6, 'reportProgress', $7, 'partyOrder', id, $4 FROM po
    RETURNING id
), numbered AS (
    UPDATE event_sequence SET last = last + 1
    WHERE id = 1 AND EXISTS (SELECT FROM report) AND EXISTS (SELECT FROM request_key)
    RETURNING last
), appended AS (
    INSERT INTO event (seq, at, type, entity, entity_id, order_id, party_order_id, party_id, actor, actor_role, data)
    SELECT numbered.last, $4, 'partyProgressReported', 'partyProgressReport', report.id, po.order_id, po.id, po.party_id,
           $8, $9, jsonb_build_object(
               'before', jsonb_build_object('percent_complete', po.percent_before, 'expected_delivery', {_ISO.format("po.expected_delivery")}),
               'after', jsonb_build_object('percent_complete', po.percent_complete, 'expected_delivery', {_ISO.format("po.expected_delivery")}),
               'note', $5::text, 'milestone', NULL)
    FROM numbered, report, po
    RETURNING seq, data
)
SELECT po.*, report.id AS report_id, appended.seq AS event_seq, appended.data AS event_data FROM po, report, appended
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
    if not db.calendars.parties_on_wall_clock:
        return None  # the next report is due in business hours of the party's calendar: the full path counts them
    try:
        key = v.required_text(key, "idempotencyKey", max_len=128)
        note = v.text(data.note, "note")
    except DomainError:
        return None
    percent = data.percent_complete
    if (percent is not None and not 0 <= percent <= 100) or (note is None and percent is None):
        return None
    for attempt in (1, 2):
        try:
            async with db.direct() as conn:
                db.statements.count += 1
                row = await conn.fetchrow(
                    REPORT,
                    party_order_id,
                    actor.party_id,
                    percent,
                    now,
                    note,
                    key,
                    sent,
                    actor.name,
                    actor.role.value,
                    now.timestamp(),
                )
            break
        except _unique_violation():
            return None  # the same key committed meanwhile: the full path replays or refuses it
        except StaleConnection:
            # A kept connection died (a restart): once more on a new one. Should the first attempt
            # have committed after all, the key is seen now and the full path replays it.
            if attempt == 2:
                raise
    if row is None:
        return None
    po = as_loaded(PartyOrder, {name: row[name] for name in COLUMNS})
    event = as_loaded(
        Event,
        {
            "seq": row["event_seq"],
            "at": now,
            "type": "partyProgressReported",
            "entity": "partyProgressReport",
            "entity_id": row["report_id"],
            "order_id": po.order_id,
            "party_order_id": po.id,
            "party_id": po.party_id,
            "actor": actor.name,
            "actor_role": actor.role.value,
            "data": row["event_data"],
        },
    )
    await db.publish([event])
    return po


def _unique_violation() -> type[Exception]:
    import asyncpg

    return asyncpg.UniqueViolationError
