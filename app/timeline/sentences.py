"""Each event as a sentence a person reads on a timeline ("FibreCo moved its delivery from 3 Dec to 5 Dec").

One phrasing per event type declared in ``app/event_visibility.py`` (``SENTENCES``; a test holds the two
sets equal). A sentence is made from what one viewer may see of an event (the view ``visible_event``
returns) and the names of its subjects (``subjects.Subject``: an activity's kind, an item's product, a
party's name), so it never says more than the fields it was given. Dates are UTC, as everywhere.
Knows nothing of GraphQL, HTTP or the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.event_visibility import EventLike
from app.timeline.phrases import because, change_sets, changes, extra, instant, moved, quote, state_words, when
from app.timeline.subjects import Subject, subject_of

Names = Mapping[Subject, str]


def subject(event: EventLike, names: Names) -> str:
    """What the event is about, capitalised: "Order", "Install activity", "FibreCo's party order", ..."""
    found = subject_of(event)
    name = names.get(found) if found is not None else None
    if event.entity == "activity":
        kind = name or change_sets(event)[1].get("kind")
        return f"{str(kind).capitalize()} activity" if kind else f"Activity {event.entity_id}"
    if event.entity == "item":
        return f"Item {name}" if name else f"Item {event.entity_id}"
    if event.entity == "serviceOrderRequest":
        product = name or change_sets(event)[1].get("product_ref")
        return f"Service order for {product}" if product else f"Service order {event.entity_id}"
    if event.entity in (
        "partyOrder",
        "partyChangeRequest",
        "partyMilestone",
        "partyProgressReport",
        "partyCheckIn",
        "partyOrderRevision",
    ):
        return f"{_party(event, names)}'s party order"
    if event.entity == "party":
        return _party(event, names)
    return event.entity[:1].upper() + event.entity[1:]


def _party(event: EventLike, names: Names) -> str:
    if event.party_id is None:
        return "The party"
    return names.get(Subject("party", event.party_id)) or f"Party {event.party_id}"


def _order_created(e: EventLike, n: Names) -> str:
    _, after = change_sets(e)
    ref, customer = after.get("sales_request_ref") or "order", after.get("customer_name") or "a customer"
    verb = "generated" if after.get("generated") else "taken"
    return f"Order {ref} {verb} for {customer}, committed for {when(after.get('committed_date'), e.at.year)}"


def _order_updated(e: EventLike, n: Names) -> str:
    what = changes(e)
    return f"Order updated: {what}" if what else "Order details updated"


def _state_changed(e: EventLike, n: Names) -> str:
    before, after = change_sets(e)
    state = after.get("state")
    reason = extra(e, "reason") or after.get("reason")
    if state == "completed":
        return f"{subject(e, n)} completed{because(reason)}"
    if state == "cancelled":
        return f"{subject(e, n)} cancelled{because(reason)}"
    if state == "inProgress" and before.get("state") in (None, "planned", "acknowledged", "pending"):
        return f"{subject(e, n)} started{because(reason)}"
    return f"{subject(e, n)} is now {state_words(state)}{because(reason)}"


def _expected_completion(e: EventLike, n: Names) -> str:
    before, after = change_sets(e)
    return f"Expected completion {moved(before.get('expected_completion'), after.get('expected_completion'), e.at.year)}"


def _service_order_requested(e: EventLike, n: Names) -> str:
    _, after = change_sets(e)
    return f"Service order requested for {after.get('product_ref') or 'an item'} ({after.get('action') or 'add'})"


def _service_order_referenced(e: EventLike, n: Names) -> str:
    return f"{subject(e, n)} referenced as {change_sets(e)[1].get('external_ref') or 'nothing'}"


def _service_order_noted(e: EventLike, n: Names) -> str:
    return f"{subject(e, n)} noted: {quote(change_sets(e)[1].get('note'))}"


def _activity_scheduled(e: EventLike, n: Names) -> str:
    _, after = change_sets(e)
    start, end = after.get("planned_start"), after.get("planned_end")
    group = f" for {after['work_group']}" if after.get("work_group") else ""
    waits = after.get("waits_on_party_order_ids")
    waiting = ""
    if isinstance(waits, list) and waits:
        waiting = f", waiting on party order{'s' if len(waits) > 1 else ''} {', '.join(str(w) for w in waits)}"
    return f"{subject(e, n)} scheduled from {when(start, e.at.year, end)} to {when(end, e.at.year, start)}{group}{waiting}"


def _activity_changed(verb: str) -> Callable[[EventLike, Names], str]:
    def phrase(e: EventLike, n: Names) -> str:
        what = changes(e)
        return f"{subject(e, n)} {verb}{': ' + what if what else ''}"

    return phrase


def _activity_progressed(e: EventLike, n: Names) -> str:
    before, after = change_sets(e)
    state = after.get("state")
    done = f"{after['percent_complete']}% done" if after.get("percent_complete") is not None else ""
    rest = ", ".join(p for p in (done, changes(e, frozenset({"actual_start", "actual_end", "percent_complete"}))) if p)
    if state and state != before.get("state"):
        return _state_changed(e, n) + (f" ({rest})" if rest and state != "completed" else "")
    return f"{subject(e, n)} progressed: {rest or 'no change'}"


def _party_created(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    hours = after.get("reporting_interval_hours")
    every = f", reporting every {hours} h" if hours else ""
    return f"Party {after.get('name') or _party(e, n)} added ({after.get('kind') or 'party'}{every})"


def _party_order_created(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    listed = after.get("items")
    items = listed if isinstance(listed, list) else []
    products = ", ".join(str(i.get("product_ref")) for i in items if isinstance(i, dict)) or "its items"
    return f"Party order placed with {_party(e, n)} for {products}, needed by {when(after.get('needed_by'), e.at.year)}"


def _party_order_updated(e: EventLike, n: Names) -> str:
    what = changes(e)
    return f"{subject(e, n)} updated{': ' + what if what else ''}"


def _party_acknowledged(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    ref = f" as {after['party_ref']}" if after.get("party_ref") else ""
    return (
        f"{_party(e, n)} acknowledged its order{ref}, committing to deliver by {when(after.get('committed_delivery'), e.at.year)}"
    )


def _milestone_planned(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    return f"{_party(e, n)} planned milestone {quote(after.get('name'))} for {when(after.get('planned_date'), e.at.year)}"


def _progress_reported(e: EventLike, n: Names) -> str:
    before, after = change_sets(e)
    party, year = _party(e, n), e.at.year
    done = f"{after['percent_complete']}% done" if after.get("percent_complete") is not None else None
    old, new = before.get("expected_delivery"), after.get("expected_delivery")
    if new is not None and old is not None and instant(old) != instant(new):
        text = f"{party} moved its delivery from {when(old, year, new)} to {when(new, year, old)}" + (
            f" ({done})" if done else ""
        )
    else:
        text = f"{party} reported {done or 'progress'}"
    milestone = extra(e, "milestone")
    if milestone:
        text += f", reaching milestone {quote(milestone)}"
    note = extra(e, "note")
    return text + (f": {quote(note)}" if note else "")


def _change_requested(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    nature = after.get("nature") or "requested"
    if after.get("kind") == "deliveryDate":
        what = f"asked to move its delivery to {when(after.get('proposed_delivery'), e.at.year)} ({nature})"
    else:
        what = f"asked for a change ({nature})"
    return f"{_party(e, n)} {what}{because(after.get('reason'))}"


def _change_resolved(e: EventLike, n: Names) -> str:
    before, after = change_sets(e)
    verdict = after.get("state") or "resolved"
    text = f"{_party(e, n)}'s change request {verdict}"
    old, new = before.get("committed_delivery"), after.get("committed_delivery")
    if new is not None and instant(old) != instant(new):
        text += f": delivery moved {moved(old, new, e.at.year)}"
    note = extra(e, "note")
    return text + (f" ({quote(note)})" if note else "")


def _cancellation_requested(e: EventLike, n: Names) -> str:
    return f"{_party(e, n)} was asked to cancel its order{because(extra(e, 'reason'))}"


def _party_completed(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    ref = f" ({after['party_ref']})" if after.get("party_ref") else ""
    return f"{_party(e, n)} delivered on {when(after.get('delivered_at'), e.at.year)}{ref}"


def _check_in(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    who, outcome = extra(e, "with_whom") or after.get("with_whom"), extra(e, "outcome") or after.get("outcome")
    with_whom = f" ({who})" if who else ""
    expected = f", expecting delivery by {when(after['expected_delivery'], e.at.year)}" if after.get("expected_delivery") else ""
    return f"Checked in with {_party(e, n)}{with_whom}: {quote(outcome)}{expected}"


def _jeopardy(e: EventLike, n: Names) -> str:
    after = change_sets(e)[1]
    level = after.get("jeopardy_level")
    words = {"none": "back on track", "atRisk": "at risk", "at_risk": "at risk", "jeopardy": "in jeopardy", "late": "late"}
    return f"{subject(e, n)} is {words.get(str(level), state_words(level))}{because(after.get('jeopardy_reason'))}"


def _escalation(verb: str) -> Callable[[EventLike, Names], str]:
    def phrase(e: EventLike, n: Names) -> str:
        level = change_sets(e)[1].get("escalation_level")
        rule = extra(e, "rule")
        how = " by hand" if extra(e, "manual") else f" by rule {rule}" if rule else ""
        notify = extra(e, "notify")
        told = f"; notifying {', '.join(str(who) for who in notify)}" if isinstance(notify, list) and notify else ""
        to = f" to level {level}" if level is not None else ""
        return f"{subject(e, n)} {verb}{to}{how}{because(extra(e, 'reason'))}{told}"

    return phrase


def _token(verb: str) -> Callable[[EventLike, Names], str]:
    def phrase(e: EventLike, n: Names) -> str:
        after = change_sets(e)[1]
        party = f" of party {after['party_id']}" if after.get("party_id") is not None else ""
        expiry = f", until {when(after['expires_at'], e.at.year)}" if verb == "issued" and after.get("expires_at") else ""
        return f"API token {quote(after.get('name'))} ({after.get('role') or 'unknown role'}{party}) {verb}{expiry}"

    return phrase


def _order_amended(e: EventLike, n: Names) -> str:
    _, after = change_sets(e)
    counts = [(len(extra(e, k) or []), word) for k, word in (("added", "added"), ("modified", "changed"), ("removed", "removed"))]
    what = ", ".join(f"{count} item{'s' if count != 1 else ''} {word}" for count, word in counts if count)
    return f"Order amended{_numbered(' to revision', after.get('revision'))}" + (f": {what}" if what else "")


def _item_added(e: EventLike, n: Names) -> str:
    _, after = change_sets(e)
    quantity = after.get("quantity")
    times = f" ×{quantity}" if isinstance(quantity, int) and quantity != 1 else ""
    under = _numbered(" under item", after.get("parent_id"))
    return f"Item {after.get('product_ref') or e.entity_id}{times} added{under}" + _in_revision(e)


def _item_modified(e: EventLike, n: Names) -> str:
    what = changes(e)
    return f"{subject(e, n)} changed" + (f": {what}" if what else "") + _in_revision(e)


def _item_removed(e: EventLike, n: Names) -> str:
    return f"{subject(e, n)} removed" + _in_revision(e) + because(extra(e, "reason"))


def _service_order_supplemented(e: EventLike, n: Names) -> str:
    _, after = change_sets(e)
    return f"{subject(e, n)} supplemented{_numbered(' with supplement', after.get('supplement'))}" + _in_revision(e)


def _party_order_revised(e: EventLike, n: Names) -> str:
    _, after = change_sets(e)
    lines = after.get("lines") or []
    what = ", ".join(_revision_line(line) for line in lines if isinstance(line, dict))
    return f"{subject(e, n)} sent{_numbered(' revision', after.get('revision')) or ' a revision'} to acknowledge" + (
        f": {what}" if what else ""
    )


def _revision_line(line: Mapping[str, object]) -> str:
    product = str(line.get("product_ref") or "an item")
    if line.get("change") == "delete":
        return f"{product} dropped"
    quantity = line.get("quantity")
    return f"{product} ×{quantity}" if isinstance(quantity, int) else product


def _revision_answered(verb: str) -> Callable[[EventLike, Names], str]:
    def phrase(e: EventLike, n: Names) -> str:
        _, after = change_sets(e)
        return (
            f"{_party(e, n)} {verb}{_numbered(' revision', after.get('revision')) or ' a revision'} of its party order"
            + because(extra(e, "reason"))
        )

    return phrase


def _in_revision(e: EventLike) -> str:
    return _numbered(" in revision", extra(e, "revision"))


def _numbered(words: str, value: object) -> str:
    """``words`` and the number, or nothing when the event holds no number there."""
    return f"{words} {value}" if isinstance(value, int) and not isinstance(value, bool) else ""


SENTENCES: Mapping[str, Callable[[EventLike, Names], str]] = {
    "orderCreated": _order_created,
    "orderUpdated": _order_updated,
    "noteAdded": lambda e, n: f"Note added: {quote(change_sets(e)[1].get('text'))}",
    "orderStateChanged": _state_changed,
    "itemStateChanged": _state_changed,
    "expectedCompletionChanged": _expected_completion,
    "serviceOrderRequested": _service_order_requested,
    "serviceOrderStateChanged": _state_changed,
    "serviceOrderReferenced": _service_order_referenced,
    "serviceOrderNoted": _service_order_noted,
    "activityScheduled": _activity_scheduled,
    "activityRescheduled": _activity_changed("rescheduled"),
    "activityAssigned": _activity_changed("assigned"),
    "activityStateChanged": _state_changed,
    "activityProgressed": _activity_progressed,
    "partyCreated": _party_created,
    "partyOrderCreated": _party_order_created,
    "partyOrderUpdated": _party_order_updated,
    "partyOrderStateChanged": _state_changed,
    "partyOrderAcknowledged": _party_acknowledged,
    "partyMilestonePlanned": _milestone_planned,
    "partyProgressReported": _progress_reported,
    "partyChangeRequested": _change_requested,
    "partyChangeResolved": _change_resolved,
    "partyOrderCancellationRequested": _cancellation_requested,
    "partyOrderCompleted": _party_completed,
    "partyCheckInRecorded": _check_in,
    "jeopardyChanged": _jeopardy,
    "escalated": _escalation("escalated"),
    "escalationLowered": _escalation("de-escalated"),
    "apiTokenIssued": _token("issued"),
    "apiTokenRevoked": _token("revoked"),
    "orderAmended": _order_amended,
    "itemAdded": _item_added,
    "itemModified": _item_modified,
    "itemRemoved": _item_removed,
    "serviceOrderSupplemented": _service_order_supplemented,
    "partyOrderRevised": _party_order_revised,
    "partyOrderRevisionAcknowledged": _revision_answered("acknowledged"),
    "partyOrderRevisionRejected": _revision_answered("rejected"),
}


def sentence(event: EventLike, names: Names) -> str:
    """The event as one sentence, from exactly the fields ``event`` carries (a viewer's view of it)."""
    phrase = SENTENCES.get(event.type)
    if phrase is None:
        return f"{event.type} on {event.entity} {event.entity_id}"
    return phrase(event, names)
