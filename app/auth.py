"""Bearer API tokens (stored as SHA-256 hashes) and the principal each one stands for."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from app.columns import UTCDateTime
from app.errors import Forbidden, InvalidInput, Unauthenticated

TOKEN_PREFIX = "otk_"


class Role(str, Enum):
    STAFF = "staff"  # enterprise sales order staff: everything
    VIEWER = "viewer"  # dashboards: read only
    PARTNER = "partner"  # an outside party: its own party orders only
    SYSTEM = "system"  # the service itself (jeopardy monitor)


@dataclass(frozen=True)
class Actor:
    """Who is acting. Domain functions receive this; they never see HTTP or GraphQL."""

    name: str
    role: Role
    party_id: int | None = None
    token_id: int | None = None
    expires_at: datetime | None = None  # the token's end, judged on the service's clock

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.SYSTEM)

    @property
    def is_partner(self) -> bool:
        return self.role is Role.PARTNER

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("This needs a staff token.")


SYSTEM = Actor(name="jeopardy-monitor", role=Role.SYSTEM)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, nullable=False)
    role: str = Field(max_length=16, nullable=False)
    party_id: int | None = Field(default=None, index=True)
    token_hash: str = Field(max_length=64, nullable=False, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    session: AsyncSession,
    *,
    name: str,
    role: Role,
    now: datetime,
    party_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, ApiToken]:
    """Make a token (valid until ``expires_at``, or until revoked); the plain text is returned once and never stored."""
    if not name.strip() or len(name) > 128:
        raise InvalidInput("A token needs a name of 1 to 128 characters.", field="name")
    if role is Role.PARTNER and party_id is None:
        raise InvalidInput("A partner token must name its party.", field="party_id")
    if role is not Role.PARTNER and party_id is not None:
        raise InvalidInput("Only partner tokens belong to a party.", field="party_id")
    if role is Role.SYSTEM:
        raise InvalidInput("System tokens cannot be issued.", field="role")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("A token must expire in the future.", field="expires_at")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name.strip(), role=role.value, party_id=party_id, token_hash=hash_token(plain), created_at=now, expires_at=expires_at
    )
    session.add(row)
    await session.flush()
    return plain, row


@dataclass(frozen=True)
class Verified:
    """A token that checked out: who it stands for, and whether its last use should be stored again."""

    actor: Actor
    stale_use: bool


# ``last_used_at`` is stored at most this often per token (a lookup already happens at most once per cache time).
LAST_USED_PRECISION = timedelta(minutes=1)


async def authenticate(session: AsyncSession, authorization: str | None, now: datetime) -> Verified | None:
    """``Authorization: Bearer <token>`` -> Verified; None when no header; UNAUTHENTICATED when wrong."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Send the token as 'Authorization: Bearer <token>'.")
    return await actor_for_token(session, token, now)


async def actor_for_token(session: AsyncSession, token: str, now: datetime) -> Verified:
    row = (await session.execute(select(ApiToken).where(col(ApiToken.token_hash) == hash_token(token)))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("The token is unknown or revoked.")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated("The token has expired.")
    actor = Actor(name=row.name, role=Role(row.role), party_id=row.party_id, token_id=row.id, expires_at=row.expires_at)
    return Verified(actor, stale_use=row.last_used_at is None or row.last_used_at <= now - LAST_USED_PRECISION)


async def note_use(session: AsyncSession, token_id: int, now: datetime) -> None:
    """Store when the token was last seen (the caller commits)."""
    await session.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now))


class TokenCache:
    """Recently verified tokens -> their Actor, for ``ttl`` seconds (0 turns it off).

    Every request presents its token; looking it up costs a statement and a pooled connection. A
    revoked token therefore keeps working for at most ``ttl`` seconds in each process that saw it; an
    expired one stops at once (the cached actor carries its token's expiry).
    Keys are the token hashes, never the tokens themselves.
    """

    def __init__(self, ttl: float, maxsize: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.maxsize, self.clock = ttl, maxsize, clock
        self._entries: dict[str, tuple[float, Actor]] = {}

    def get(self, authorization: str, now: datetime | None = None) -> Actor | None:
        """The cached actor; None when unknown, stale, or (given ``now``) past its token's expiry."""
        if self.ttl <= 0:
            return None
        key = hash_token(authorization)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < self.clock() or (now is not None and entry[1].expired(now)):
            self._entries.pop(key, None)
            return None
        return entry[1]

    def fresh_for(self, authorization: str) -> float:
        """Seconds until the cached entry must be looked up again (0 when there is none)."""
        entry = self._entries.get(hash_token(authorization))
        return max(0.0, entry[0] - self.clock()) if entry is not None else 0.0

    def put(self, authorization: str, actor: Actor) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.maxsize:
            self._entries.clear()  # crude but bounded; real deployments hold far fewer live tokens
        self._entries[hash_token(authorization)] = (self.clock() + self.ttl, actor)
