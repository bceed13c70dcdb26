"""Per-request context: who asks, the database, the clock, and DataLoaders made fresh per request."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from app.auth import Actor
from app.clock import Clock
from app.config import Settings
from app.db import Database, UnitOfWork
from app.errors import DomainError, Unauthenticated
from app.graphql.session_recheck import PrincipalCheck
from app.jeopardy.policy import Policy
from app.state import Services

L = TypeVar("L", bound=DataLoader[Any, Any])


class ObservedClock:
    """The request's clock: reading it notes that the answer depends on the time, not only on stored data."""

    def __init__(self, clock: Clock, notes: set[str]) -> None:
        self.clock, self.notes = clock, notes

    def now(self) -> datetime:
        self.notes.add("clock")
        return self.clock.now()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.clock, name)


@dataclass
class Context:
    db: Database
    clock: Clock
    settings: Settings
    policy: Policy  # the escalation policy the app was built with
    actor: Actor | None = None
    services: Services = field(default_factory=Services)  # the app's bus and monitor
    connection_params: dict[str, Any] | None = None  # graphql-ws connection_init payload
    request: Any = None
    authorization: str | None = None  # what the principal was resolved from: an open socket re-checks it
    principal_check: PrincipalCheck | None = None  # how an open session re-checks it (set by the app)
    auth_error: DomainError | None = None  # a bad token: raised by the first field that needs one
    operation_type: str | None = None  # "query", "mutation" or "subscription" once the operation ran
    varies: set[str] = field(default_factory=set)  # what besides stored data the answer used ("clock", ...)
    _loaders: dict[Callable[..., Any], DataLoader[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.clock, ObservedClock):
            self.clock = ObservedClock(self.clock, self.varies)

    def varies_with(self, what: str) -> None:
        """The answer depends on ``what`` besides stored data (who exactly asks, process settings):
        a response cache must not hand it to anyone else or keep it."""
        self.varies.add(what)

    def begin_operation(self) -> None:
        """A batch runs several operations on one context: each starts with nothing noted."""
        self.varies.clear()
        self.operation_type = None

    def loader(self, factory: Callable[[Database], L]) -> L:
        """The request's DataLoader made by ``factory`` (one per factory per request)."""
        found = self._loaders.get(factory)
        if found is None:
            found = self._loaders[factory] = factory(self.db)
        return found  # type: ignore[return-value]  # each factory's loader is stored under that factory, so it is an L

    def reset_loaders(self) -> None:
        """Websocket contexts live as long as the socket; each pushed event starts fresh."""
        self._loaders.clear()

    def for_event(self) -> Context:
        """A copy with DataLoaders of its own, for one event's execution shared between subscribers."""
        return replace(self, _loaders={})

    @property
    def signed_in(self) -> Actor:
        if self.auth_error is not None:
            raise self.auth_error
        if self.actor is None:
            raise Unauthenticated("Sign in: send 'Authorization: Bearer <token>'.")
        return self.actor

    def write(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """One transaction on behalf of the signed-in actor, at the clock's now."""
        return self.db.write(self.signed_in, self.clock.now())
