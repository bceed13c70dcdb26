"""What an amendment does to an item's work, by the state of that work: the consequence table, as data.

Beside the state machines (``states.py``); enforced in one place, ``app/orders/amendment.py``. An item's
work is each unit of its own (activities, its service order request, the party orders delivering it;
``app/orders/work.py``), in one of these phases:

- ``planned``: open and not started (an activity still planned, a request not yet in progress, a party
  order the party has not acknowledged);
- ``started``: open and started;
- ``done``: the point of no return (an activity completed, a service order request completed, a party
  order delivered): the amendment is refused for the item, with the reason, and nothing is applied;
- ``closed``: dropped or ended without result (cancelled, rejected, failed): nothing to do;
- ``closing``: a cancellation the other side must confirm is in flight: nothing more to ask.

Nothing started means changed freely: the only consequences are those that keep the tree honest (the
open work of a removed item goes with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class Change(str, Enum):
    MODIFY = "modify"
    REMOVE = "remove"


class Consequence(str, Enum):
    NONE = "none"  # changed freely; the work carries on as it is
    RESCHEDULE = "reschedule"  # the open activity is re-planned from now, keeping its planned duration
    CANCEL = "cancel"  # the open activity or service order request is cancelled
    SUPPLEMENT = "supplement"  # the service order request gets a supplement with the new quantity and characteristics
    REVISE = "revise"  # the party order gets a new revision (the changed line) the party must acknowledge
    # The party order loses the line in a new revision; when it was its last line the party order is
    # cancelled instead, exactly as cancelPartyOrder does (at once, or pendingCancellation once acknowledged).
    DROP_LINE = "dropLine"
    REFUSE = "refuse"  # the point of no return: AMENDMENT_NOT_ALLOWED, nothing applied


PHASES = ("planned", "started", "done", "closed", "closing")
KINDS = ("activity", "serviceOrderRequest", "partyOrder")

_C = Consequence
# (kind of work, phase, change) -> consequence; every combination is listed (checked below).
CONSEQUENCES: Mapping[tuple[str, str, Change], Consequence] = {
    ("activity", "planned", Change.MODIFY): _C.NONE,
    ("activity", "planned", Change.REMOVE): _C.CANCEL,
    ("activity", "started", Change.MODIFY): _C.RESCHEDULE,
    ("activity", "started", Change.REMOVE): _C.CANCEL,
    ("activity", "done", Change.MODIFY): _C.REFUSE,
    ("activity", "done", Change.REMOVE): _C.REFUSE,
    ("serviceOrderRequest", "planned", Change.MODIFY): _C.SUPPLEMENT,
    ("serviceOrderRequest", "planned", Change.REMOVE): _C.CANCEL,
    ("serviceOrderRequest", "started", Change.MODIFY): _C.SUPPLEMENT,
    ("serviceOrderRequest", "started", Change.REMOVE): _C.CANCEL,
    ("serviceOrderRequest", "done", Change.MODIFY): _C.REFUSE,
    ("serviceOrderRequest", "done", Change.REMOVE): _C.REFUSE,
    ("partyOrder", "planned", Change.MODIFY): _C.REVISE,
    ("partyOrder", "planned", Change.REMOVE): _C.DROP_LINE,
    ("partyOrder", "started", Change.MODIFY): _C.REVISE,
    ("partyOrder", "started", Change.REMOVE): _C.DROP_LINE,
    ("partyOrder", "done", Change.MODIFY): _C.REFUSE,
    ("partyOrder", "done", Change.REMOVE): _C.REFUSE,
    **{(kind, phase, change): _C.NONE for kind in KINDS for phase in ("closed", "closing") for change in Change},
}

# Why a point of no return refuses, per kind of work ({id}: the unit's id).
POINT_OF_NO_RETURN: Mapping[str, str] = {
    "activity": "its activity {id} is completed",
    "serviceOrderRequest": "its service order request {id} is completed",
    "partyOrder": "its party order {id} was delivered",
}

# Item states an amendment may change (an item being cancelled or closed is past changing).
AMENDABLE_ITEM = frozenset({"acknowledged", "inProgress", "pending", "held"})
# Customer order states that take amendments.
AMENDABLE_ORDER = frozenset({"acknowledged", "inProgress", "pending", "held"})

_missing = {(k, p, c) for k in KINDS for p in PHASES for c in Change} - set(CONSEQUENCES)
if _missing:  # a gap in the table must fail at import, not at run time
    raise ValueError(f"amendment consequences missing for {sorted(_missing)}")
