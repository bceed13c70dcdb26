"""Token lifecycle: issue with an optional lifetime, list, revoke. Knows nothing of GraphQL or HTTP."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth import Actor, ApiToken, Role, create_token
from app.db import UnitOfWork
from app.errors import InvalidInput, NotFound
from app.party_orders.models import Party

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([smhdw])\s*$")
MAX_LIFETIME = timedelta(days=3660)
# Who acts when an operator runs ``ordertrack create-token`` or ``revoke-token`` on the server.
OPERATOR = Actor(name="ordertrack-cli", role=Role.SYSTEM)


def parse_lifetime(text: str, field: str = "expiresIn") -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` -> a timedelta (INVALID_INPUT otherwise)."""
    match = _DURATION.match(text or "")
    if match is None:
        raise InvalidInput("A lifetime is a whole number and a unit: s, m, h, d or w (e.g. 30d).", field=field)
    lifetime = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise InvalidInput("A lifetime must be more than nothing and at most ten years.", field=field)
    return lifetime


def _record(uow: UnitOfWork, type: str, row: ApiToken) -> None:
    uow.record(
        type,
        entity="apiToken",
        entity_id=row.id or 0,
        after={
            "name": row.name,
            "role": row.role,
            "party_id": row.party_id,
            "expires_at": row.expires_at,
            "revoked_at": row.revoked_at,
        },
    )


async def issue(
    uow: UnitOfWork,
    *,
    name: str,
    role: Role,
    party_id: int | None = None,
    lifetime: timedelta | None = None,
) -> tuple[str, ApiToken]:
    """A new token, valid for ``lifetime`` (None: until revoked), logged as ``apiTokenIssued`` (never its secret)."""
    if party_id is not None and await uow.session.get(Party, party_id) is None:
        raise NotFound(f"Party {party_id} does not exist.", field="partyId")
    plain, row = await create_token(
        uow.session,
        name=name,
        role=role,
        now=uow.now,
        party_id=party_id,
        expires_at=uow.now + lifetime if lifetime is not None else None,
    )
    _record(uow, "apiTokenIssued", row)
    return plain, row


async def list_tokens(session: AsyncSession) -> Sequence[ApiToken]:
    """Every token ever issued, newest first (callers show names and dates, never the hashes)."""
    return list((await session.execute(select(ApiToken).order_by(col(ApiToken.id).desc()))).scalars())


async def revoke(uow: UnitOfWork, token_id: int) -> ApiToken:
    """Revoke one token, logged as ``apiTokenRevoked``; revoking it again changes nothing."""
    row = await uow.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"Token {token_id} does not exist.", field="id")
    if row.revoked_at is None:
        row.revoked_at = uow.now
        await uow.session.flush()
        _record(uow, "apiTokenRevoked", row)
    return row


async def revoke_named(uow: UnitOfWork, name: str) -> list[ApiToken]:
    """Revoke every live token with this name (names are not unique); NOT_FOUND when there is none."""
    rows = list(
        (
            await uow.session.execute(
                select(ApiToken).where(col(ApiToken.name) == name.strip(), col(ApiToken.revoked_at).is_(None))
            )
        ).scalars()
    )
    if not rows:
        raise NotFound(f"No live token is named {name.strip()!r}.", field="name")
    for row in rows:
        await revoke(uow, row.id or 0)
    return rows
