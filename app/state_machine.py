"""A state machine written as data (state -> allowed next states), enforced in one place.

``StateMachine.transition`` is the one way any row's state changes: checked against the table, and
recorded as the machine's one event shape, ``before: {state}``, ``after: {state}`` and the reason
(with whatever else the move carries) beside them in the event's data, never inside ``after``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from app.errors import InvalidTransition


class HasState(Protocol):
    state: str


class EventLog(Protocol):
    """Where a transition's event goes: ``app.db.UnitOfWork.record`` (kept out of this module's imports)."""

    def record(
        self,
        type: str,
        *,
        entity: str,
        entity_id: int,
        order_id: int | None = ...,
        party_order_id: int | None = ...,
        party_id: int | None = ...,
        before: dict[str, Any] | None = ...,
        after: dict[str, Any] | None = ...,
        data: dict[str, Any] | None = ...,
    ) -> None: ...


@dataclass(frozen=True)
class EventScope:
    """Which row an event is about, and whose timelines it belongs on."""

    entity_id: int
    order_id: int | None
    party_order_id: int | None = None
    party_id: int | None = None


def transition_data(reason: str | None, details: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The data a state change carries beside ``before`` and ``after``: its reason and details, if any."""
    data = {**({"reason": reason} if reason else {}), **(details or {})}
    return data or None


@dataclass(frozen=True)
class StateMachine:
    name: str
    transitions: Mapping[str, frozenset[str]]
    initial: str
    event: str  # the event type a state change of this machine records
    entity: str  # the event's entity (order, item, activity, ...)

    # Worked out once: ``is_open`` is asked for every row a sweep or a write reconciles.
    @cached_property
    def states(self) -> frozenset[str]:
        return frozenset(self.transitions)

    @cached_property
    def terminal(self) -> frozenset[str]:
        return frozenset(s for s, nxt in self.transitions.items() if not nxt)

    def is_open(self, state: str) -> bool:
        return state not in self.terminal

    def allowed(self, state: str) -> list[str]:
        return sorted(self.transitions.get(state, frozenset()))

    def can(self, current: str, target: str) -> bool:
        return target in self.transitions.get(current, frozenset())

    def check(self, current: str, target: str) -> None:
        """Raise INVALID_TRANSITION unless ``current -> target`` is allowed."""
        if not self.can(current, target):
            allowed = self.allowed(current)
            listing = ", ".join(allowed) if allowed else "none (it is final)"
            raise InvalidTransition(
                f"A {self.name} in state '{current}' cannot move to '{target}'. Allowed next states: {listing}.",
                current=current,
                target=target,
                allowed=allowed,
            )

    def transition(
        self,
        log: EventLog,
        row: HasState,
        target: str,
        scope: EventScope,
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> str:
        """Check ``row.state -> target``, set it and record the one event; returns the state it left."""
        self.check(row.state, target)
        before, row.state = row.state, target
        log.record(
            self.event,
            entity=self.entity,
            entity_id=scope.entity_id,
            order_id=scope.order_id,
            party_order_id=scope.party_order_id,
            party_id=scope.party_id,
            before={"state": before},
            after={"state": target},
            data=transition_data(reason, details),
        )
        return before


def machine(
    name: str, initial: str, transitions: Mapping[str, set[str] | frozenset[str]], *, event: str, entity: str
) -> StateMachine:
    table = {state: frozenset(nxt) for state, nxt in transitions.items()}
    unknown = {t for nxt in table.values() for t in nxt} - set(table)
    if unknown:  # a typo in the table must fail at import, not at run time
        raise ValueError(f"{name}: transitions to undeclared states {sorted(unknown)}")
    return StateMachine(name=name, transitions=table, initial=initial, event=event, entity=entity)
