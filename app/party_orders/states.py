"""The party order state machine (TMF622 / MEF LSO names), as data.

A requisition starts in ``pending``: the enterprise has placed it and waits for the party's
acknowledgement (MEF LSO's seller acknowledges the buyer's order; until then the order is pending
on the seller). The party's acknowledgement (own reference and committed delivery date) moves it
to ``acknowledged``; its refusal to ``rejected``. Later ``pending`` means waiting on something
again; whether the party has acknowledged is ``acknowledged_at``, not the state, so the
cancellation cascade cancels unacknowledged orders outright and asks acknowledged ones.
"""

from __future__ import annotations

from app.state_machine import machine

PARTY_ORDER = machine(
    "party order",
    event="partyOrderStateChanged",
    entity="partyOrder",
    initial="pending",
    transitions={
        "pending": {"acknowledged", "inProgress", "held", "rejected", "pendingCancellation", "cancelled", "completed", "failed"},
        "acknowledged": {"inProgress", "pending", "held", "pendingCancellation", "completed", "failed"},
        "inProgress": {"pending", "held", "pendingCancellation", "completed", "failed"},
        "held": {"inProgress", "pending", "pendingCancellation", "completed", "failed"},
        "pendingCancellation": {"cancelled"},
        "cancelled": set(),
        "completed": set(),
        "failed": set(),
        "rejected": set(),
    },
)

# States in which the party is working on it (reports, change requests, completion accepted).
ACTIVE = {"acknowledged", "inProgress", "pending", "held"}
DONE = {"completed"}
DROPPED = {"cancelled", "rejected"}

PARTY_KINDS = ("supplier", "partner")
CHANGE_NATURES = ("forced", "requested")
CHANGE_KINDS = ("deliveryDate", "other")
CHANGE_STATES = ("open", "accepted", "rejected")
