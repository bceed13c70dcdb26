"""What a party does with its own orders. Every call is scoped to the actor's party and idempotent.

An idempotency key is stored with a fingerprint of the request and a reference to its result, in the
same transaction as the change: a retry with the same key and request returns that result and records
nothing; the same key with another request is IDEMPOTENCY_MISMATCH. Another party's order is NOT_FOUND.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app import validation as v
from app.auth import Actor
from app.db import Database, UnitOfWork
from app.errors import Conflict, Forbidden, IdempotencyMismatch, InvalidInput, InvalidTransition
from app.events import jsonable
from app.orders.models import CustomerOrder
from app.party_orders import change_requests, quick_report, revisions, states
from app.party_orders.core import (
    expect_report,
    load_party_order,
    move_party_order,
    record,
    snapshot,
    touch,
)
from app.party_orders.models import PartyChangeRequest, PartyMilestone, PartyOrder, PartyProgressReport, PartyRequestKey
from app.party_orders.progress import ProgressReport
from app.party_orders.service import NewMilestone, add_milestones, complete

Result = PartyOrder | PartyChangeRequest


@dataclass
class Acknowledgement:
    party_ref: str
    committed_delivery: datetime
    milestones: list[NewMilestone] = field(default_factory=list)


def fingerprint(operation: str, party_order_id: int, payload: dict[str, Any]) -> str:
    text = json.dumps(jsonable({"op": operation, "id": party_order_id, **payload}), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


async def _idempotent(
    uow: UnitOfWork,
    operation: str,
    party_order_id: int,
    key: str,
    payload: dict[str, Any],
    perform: Callable[[CustomerOrder, PartyOrder], Awaitable[Result]],
) -> Result:
    party_id = uow.actor.party_id
    if not uow.actor.is_partner or party_id is None:
        raise Forbidden("This needs a partner token.")
    key = v.required_text(key, "idempotencyKey", max_len=128)
    order, po = await load_party_order(uow, party_order_id, party_id=party_id)
    sent = fingerprint(operation, party_order_id, payload)
    seen = (
        await uow.session.execute(
            select(PartyRequestKey).where(col(PartyRequestKey.party_id) == party_id, col(PartyRequestKey.key) == key)
        )
    ).scalar_one_or_none()
    if seen is not None:
        if seen.fingerprint != sent:
            raise IdempotencyMismatch(
                f"Idempotency key '{key}' was used for a different request ({seen.operation} on party order "
                f"{'this' if seen.result_kind == 'partyOrder' and seen.result_id == party_order_id else 'another'}); "
                "use a new key for a new request.",
                field="idempotencyKey",
            )
        found: PartyOrder | PartyChangeRequest | None = (
            await uow.session.get(PartyOrder, seen.result_id)
            if seen.result_kind == "partyOrder"
            else await uow.session.get(PartyChangeRequest, seen.result_id)
        )
        assert found is not None
        return found
    result = await perform(order, po)
    await uow.session.flush()
    uow.session.add(
        PartyRequestKey(
            party_id=party_id,
            key=key,
            operation=operation,
            fingerprint=sent,
            result_kind="partyOrder" if isinstance(result, PartyOrder) else "changeRequest",
            result_id=result.id or 0,
            created_at=uow.now,
        )
    )
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # the same key raced in another transaction
        raise Conflict(f"Idempotency key '{key}' is being used by a concurrent request; retry it.") from exc
    return result


def _acknowledged(po: PartyOrder, what: str) -> None:
    if po.acknowledged_at is None:
        raise InvalidTransition(
            f"Party order {po.id} is not acknowledged yet; acknowledge it before you {what}.", current=po.state
        )
    if po.state not in states.ACTIVE:
        raise InvalidTransition(
            f"Party order {po.id} is {po.state}; you can no longer {what}.",
            current=po.state,
            allowed=states.PARTY_ORDER.allowed(po.state),
        )


async def acknowledge(uow: UnitOfWork, party_order_id: int, key: str, data: Acknowledgement) -> Result:
    """Accept the order, with the party's own reference and committed delivery date."""

    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        ref = v.required_text(data.party_ref, "partyReference", max_len=128)
        committed = v.future(data.committed_delivery, "committedDeliveryDate", uow.now)
        if po.acknowledged_at is not None:
            raise InvalidTransition(f"Party order {po.id} is acknowledged already.", current=po.state)
        states.PARTY_ORDER.check(po.state, "acknowledged")
        before = snapshot(po)
        po.party_ref, po.committed_delivery, po.expected_delivery = ref, committed, committed
        move_party_order(uow, po, "acknowledged", f"acknowledged by the party as {ref}")
        record(
            uow,
            po,
            "partyOrderAcknowledged",
            before={k: before[k] for k in ("party_ref", "committed_delivery")},
            after={"party_ref": ref, "committed_delivery": committed},
        )
        await add_milestones(uow, po, data.milestones)
        await expect_report(uow, po)
        return po

    return await _idempotent(uow, "acknowledge", party_order_id, key, asdict(data), perform)


async def reject(uow: UnitOfWork, party_order_id: int, key: str, reason: str) -> Result:
    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        text = v.required_text(reason, "reason", max_len=1000)
        if po.acknowledged_at is not None:
            raise InvalidTransition(
                f"Party order {po.id} is acknowledged; ask for a change instead of rejecting it.", current=po.state
            )
        move_party_order(uow, po, "rejected", text)
        return po

    return await _idempotent(uow, "reject", party_order_id, key, {"reason": reason}, perform)


async def report_progress(uow: UnitOfWork, party_order_id: int, key: str, data: ProgressReport) -> Result:
    """Percent, note, maybe a new expected delivery date, maybe a milestone reached."""

    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        _acknowledged(po, "report progress")
        note = v.text(data.note, "note")
        if data.percent_complete is not None and not 0 <= data.percent_complete <= 100:
            raise InvalidInput("percentComplete must be between 0 and 100.", field="percentComplete")
        expected = v.future(data.expected_delivery, "expectedDeliveryDate", uow.now) if data.expected_delivery else None
        milestone = None
        if data.milestone_id is not None:
            milestone = await uow.session.get(PartyMilestone, data.milestone_id)
            if milestone is None or milestone.party_order_id != po.id:
                raise InvalidInput(
                    f"Milestone {data.milestone_id} is not a milestone of party order {po.id}.", field="milestoneId"
                )
            if milestone.reached_at is not None:
                raise InvalidInput(f"Milestone {milestone.name} was reached already.", field="milestoneId")
        if note is None and data.percent_complete is None and expected is None and milestone is None:
            raise InvalidInput("A report says something: percent, note, expected date or milestone.", field="input")
        report = PartyProgressReport(
            party_order_id=po.id or 0,
            percent_complete=data.percent_complete,
            note=note,
            expected_delivery=expected,
            milestone_id=data.milestone_id,
            reported_by=uow.actor.name,
            reported_at=uow.now,
        )
        uow.session.add(report)
        await uow.session.flush()
        before = {"percent_complete": po.percent_complete, "expected_delivery": po.expected_delivery}
        if data.percent_complete is not None:
            po.percent_complete = data.percent_complete
        if expected is not None:
            po.expected_delivery = expected
        if milestone is not None:
            milestone.reached_at = uow.now
        moved = po.state == "acknowledged"
        if moved:
            move_party_order(uow, po, "inProgress", "the party reported progress")
        else:
            touch(uow, po)
        await expect_report(uow, po)
        record(
            uow,
            po,
            "partyProgressReported",
            entity="partyProgressReport",
            entity_id=report.id,
            before=before,
            after={"percent_complete": po.percent_complete, "expected_delivery": po.expected_delivery},
            data={"note": note, "milestone": milestone.name if milestone else None},
        )
        return po

    return await _idempotent(uow, "reportProgress", party_order_id, key, asdict(data), perform)


async def submit_progress(
    db: Database, actor: Actor, now: datetime, party_order_id: int, key: str, data: ProgressReport
) -> Result:
    """A progress report in its own transaction: the usual one by ``quick_report``, any other by ``report_progress``."""
    done = await quick_progress(db, actor, now, party_order_id, key, data)
    if done is not None:
        return done
    async with db.write(actor, now) as uow:
        return await report_progress(uow, party_order_id, key, data)


async def quick_progress(
    db: Database, actor: Actor, now: datetime, party_order_id: int, key: str, data: ProgressReport
) -> PartyOrder | None:
    """The usual progress report committed at once, or None when ``report_progress`` must decide."""
    sent = fingerprint("reportProgress", party_order_id, asdict(data))
    return await quick_report.report_progress(db, actor, now, party_order_id, key, data, sent)


async def request_change(uow: UnitOfWork, party_order_id: int, key: str, data: change_requests.NewChangeRequest) -> Result:
    """A forced or requested change to the order or its delivery schedule, sent to the enterprise."""

    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        request = change_requests.raise_change_request(uow, po, data)
        await uow.session.flush()
        change_requests.record_raised(uow, po, request)
        await expect_report(uow, po)
        return request

    return await _idempotent(uow, "requestChange", party_order_id, key, asdict(data), perform)


async def confirm_cancellation(uow: UnitOfWork, party_order_id: int, key: str, note: str | None) -> Result:
    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        text = v.text(note, "note", max_len=1000)
        if po.state != "pendingCancellation":
            raise InvalidTransition(f"Party order {po.id} is {po.state}; nobody asked to cancel it.", current=po.state)
        move_party_order(uow, po, "cancelled", text or "cancellation confirmed by the party")
        return po

    return await _idempotent(uow, "confirmCancellation", party_order_id, key, {"note": note}, perform)


async def report_completion(
    uow: UnitOfWork, party_order_id: int, key: str, delivered_at: datetime | None, note: str | None
) -> Result:
    """Delivered: completes the items it delivers and so rolls up to the customer order."""

    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        _acknowledged(po, "report completion")
        text = v.text(note, "note", max_len=1000)
        v.aware(delivered_at, "deliveredAt")
        await complete(uow, order, po, text or "delivered", delivered_at)
        return po

    return await _idempotent(uow, "reportCompletion", party_order_id, key, {"delivered_at": delivered_at, "note": note}, perform)


async def acknowledge_revision(uow: UnitOfWork, party_order_id: int, key: str, revision: int) -> Result:
    """Accept a revision of the order (the lines an amendment of the customer order changed)."""

    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        await revisions.acknowledge(uow, po, revision)
        await expect_report(uow, po)
        return po

    return await _idempotent(uow, "acknowledgeRevision", party_order_id, key, {"revision": revision}, perform)


async def reject_revision(uow: UnitOfWork, party_order_id: int, key: str, revision: int, reason: str) -> Result:
    """Refuse a revision: staff see it as an open change request on the customer order."""

    async def perform(order: CustomerOrder, po: PartyOrder) -> Result:
        await revisions.reject(uow, po, revision, reason)
        await expect_report(uow, po)
        return po

    return await _idempotent(uow, "rejectRevision", party_order_id, key, {"revision": revision, "reason": reason}, perform)
