"""Staff operations on API tokens: list, issue (the secret shown once), revoke. Thin: app/access/tokens.py decides."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.access import tokens
from app.auth import ApiToken, Role
from app.graphql.ids import parse_id
from app.graphql.permissions import Staff


@strawberry.enum(description="What a token may do: STAFF everything, VIEWER read, PARTNER its own party's orders.")
class TokenRole(Enum):
    STAFF = "staff"
    VIEWER = "viewer"
    PARTNER = "partner"


@strawberry.type(name="ApiToken", description="An API token as staff see it: never its secret, which only its creator saw once.")
class ApiTokenInfo:
    id: strawberry.ID
    name: str
    role: TokenRole
    party_id: strawberry.ID | None
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(description="Last use seen, to within a minute; null if never used.")
    expires_at: datetime | None = strawberry.field(description="When it stops working; null: until revoked.")
    revoked_at: datetime | None

    @staticmethod
    def of(row: ApiToken) -> ApiTokenInfo:
        return ApiTokenInfo(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            role=TokenRole(row.role),
            party_id=strawberry.ID(str(row.party_id)) if row.party_id is not None else None,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type(description="A token just issued: `secret` is shown this once and never stored.")
class IssuedApiToken:
    secret: str = strawberry.field(description="Send it as 'Authorization: Bearer <secret>'. It cannot be shown again.")
    token: ApiTokenInfo


@strawberry.input(description="A new token; a partner token names its party.")
class CreateApiTokenInput:
    name: str
    role: TokenRole
    party_id: strawberry.ID | None = None
    expires_in: str | None = strawberry.field(
        default=None, description="Lifetime such as 30d, 12h, 90m, 2w; null: until revoked."
    )


@strawberry.type
class AccessQuery:
    @strawberry.field(
        permission_classes=[Staff], description="Every API token, newest first: who it is, its role and party, its dates."
    )
    async def api_tokens(self, info: Info) -> list[ApiTokenInfo]:
        info.context.varies_with("tokens")  # changes with no event in the answer's orders: never cached
        async with info.context.db.read() as session:
            return [ApiTokenInfo.of(row) for row in await tokens.list_tokens(session)]


@strawberry.type
class AccessMutation:
    @strawberry.mutation(permission_classes=[Staff], description="Issue an API token; its secret is in this answer only.")
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> IssuedApiToken:
        party_id = parse_id(input.party_id, "partyId") if input.party_id is not None else None
        lifetime = tokens.parse_lifetime(input.expires_in) if input.expires_in is not None else None
        async with info.context.write() as uow:
            secret, row = await tokens.issue(
                uow, name=input.name, role=Role(input.role.value), party_id=party_id, lifetime=lifetime
            )
        return IssuedApiToken(secret=secret, token=ApiTokenInfo.of(row))

    @strawberry.mutation(
        permission_classes=[Staff],
        description="Revoke a token: it stops working everywhere within TOKEN_CACHE_SECONDS, open sockets and streams included.",
    )
    async def revoke_token(self, info: Info, id: strawberry.ID) -> ApiTokenInfo:
        token_id = parse_id(id, "id")
        async with info.context.write() as uow:
            row = await tokens.revoke(uow, token_id)
        return ApiTokenInfo.of(row)
