"""The names a timeline sentence needs that its event does not carry: an activity's kind, an item's
product, the product of a service order's item, a party's name.

Which names a viewer's sentence may use is decided here: enterprise viewers get every subject's name;
a partner only its own party's (the only name its events need, and one it already sees). Knows
nothing of GraphQL or HTTP; ``load_names`` reads the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.event_visibility import EventLike, Viewer
from app.orders.models import Activity, OrderItem, ServiceOrderRequest
from app.party_orders.models import Party


class Subject(NamedTuple):
    """Something an event is about, by kind (``activity``, ``item``, ``serviceOrderRequest``, ``party``) and id."""

    kind: str
    id: int


NAMED_ENTITIES = frozenset({"activity", "item", "serviceOrderRequest"})


def subject_of(event: EventLike) -> Subject | None:
    """The entity whose name the sentence of ``event`` starts with, when it has one to look up."""
    if event.entity in NAMED_ENTITIES:
        return Subject(event.entity, event.entity_id)
    return None


def subjects_needed(event: EventLike, viewer: Viewer) -> list[Subject]:
    """The names to look up for ``viewer``'s sentence of ``event`` (a partner's: its own party's only)."""
    needed = []
    if event.party_id is not None and (viewer.sees_everything or event.party_id == viewer.party_id):
        needed.append(Subject("party", event.party_id))
    found = subject_of(event)
    if found is not None and viewer.sees_everything:
        needed.append(found)
    return needed


async def load_names(session: AsyncSession, subjects: Sequence[Subject]) -> dict[Subject, str]:
    """The names of ``subjects`` that exist, one statement per kind."""
    ids: dict[str, set[int]] = defaultdict(set)
    for s in subjects:
        ids[s.kind].add(s.id)
    queries: dict[str, Select[int | None, str]] = {
        "activity": select(col(Activity.id), col(Activity.kind)).where(col(Activity.id).in_(ids["activity"])),
        "item": select(col(OrderItem.id), col(OrderItem.product_ref)).where(col(OrderItem.id).in_(ids["item"])),
        "serviceOrderRequest": select(col(ServiceOrderRequest.id), col(OrderItem.product_ref))
        .join(OrderItem, col(OrderItem.id) == col(ServiceOrderRequest.item_id))
        .where(col(ServiceOrderRequest.id).in_(ids["serviceOrderRequest"])),
        "party": select(col(Party.id), col(Party.name)).where(col(Party.id).in_(ids["party"])),
    }
    names: dict[Subject, str] = {}
    for kind, query in queries.items():
        if ids[kind]:
            names.update({Subject(kind, int(i or 0)): name for i, name in (await session.execute(query)).all()})
    return names
