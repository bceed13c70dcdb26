"""Domain errors with stable codes. They know nothing of GraphQL; the API layer passes the code on."""

from __future__ import annotations

from enum import Enum
from typing import Any


class ErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CONFLICT = "CONFLICT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    IDEMPOTENCY_MISMATCH = "IDEMPOTENCY_MISMATCH"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    AMENDMENT_NOT_ALLOWED = "AMENDMENT_NOT_ALLOWED"  # an item of the amendment is past its point of no return
    # Set by the API layer, never raised by domain code:
    INTERNAL = "INTERNAL"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"  # the request body arrived too slowly
    SLOW_CONSUMER = "SLOW_CONSUMER"  # a subscription fell behind its buffer; resume from the last cursor


class DomainError(Exception):
    """An expected refusal. ``extensions`` is what graphql-core copies into the error response."""

    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(self, message: str, *, code: ErrorCode | None = None, **details: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code.value, **self.details}


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class InvalidInput(DomainError):
    code = ErrorCode.INVALID_INPUT


class InvalidTransition(DomainError):
    code = ErrorCode.INVALID_TRANSITION


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Unavailable(DomainError):
    """The database or broker is unreachable for now; the client may retry."""

    code = ErrorCode.UNAVAILABLE


def not_found(kind: str, ident: object) -> NotFound:
    return NotFound(f"{kind} {ident} does not exist.", kind=kind, id=str(ident))


class IdempotencyMismatch(DomainError):
    """An idempotency key sent again with a different request."""

    code = ErrorCode.IDEMPOTENCY_MISMATCH


class AmendmentNotAllowed(DomainError):
    """An amendment touches an item past its point of no return; ``refusals`` names each item and why."""

    code = ErrorCode.AMENDMENT_NOT_ALLOWED
