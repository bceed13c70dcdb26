"""A state machine written as data (state -> allowed next states), enforced in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.errors import InvalidTransition


@dataclass(frozen=True)
class StateMachine:
    name: str
    transitions: Mapping[str, frozenset[str]]
    initial: str

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.transitions)

    @property
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


def machine(name: str, initial: str, transitions: Mapping[str, set[str] | frozenset[str]]) -> StateMachine:
    table = {state: frozenset(nxt) for state, nxt in transitions.items()}
    unknown = {t for nxt in table.values() for t in nxt} - set(table)
    if unknown:  # a typo in the table must fail at import, not at run time
        raise ValueError(f"{name}: transitions to undeclared states {sorted(unknown)}")
    return StateMachine(name=name, transitions=table, initial=initial)
