"""DataLoaders of the jeopardy domain."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from app.db import Database
from app.jeopardy.models import Escalation
from app.loaders import grouped


def escalations_by_order(db: Database) -> DataLoader[int, list[Escalation]]:
    return grouped(db, Escalation, Escalation.order_id, order_by=(Escalation.id,))


def escalations_by_party_order(db: Database) -> DataLoader[int, list[Escalation]]:
    return grouped(db, Escalation, Escalation.party_order_id, order_by=(Escalation.id,))
