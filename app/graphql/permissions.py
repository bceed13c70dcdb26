"""Who may use a field. Every root field names one of these."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from app.auth import Role
from app.errors import Forbidden


def _actor(info: Info) -> Any:
    return info.context.signed_in  # raises UNAUTHENTICATED when nobody signed in


class SignedIn(BasePermission):
    """Any valid token: staff, viewer or partner (partners are scoped by the resolver)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _actor(info)
        return True


class Reader(BasePermission):
    """Enterprise readers: staff and viewers (not partners)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if _actor(info).role not in (Role.STAFF, Role.VIEWER, Role.SYSTEM):
            raise Forbidden("This needs a staff or viewer token.")
        return True


class Staff(BasePermission):
    """Enterprise sales order staff: the only ones who change customer orders."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not _actor(info).is_staff:
            raise Forbidden("This needs a staff token.")
        return True


class Partner(BasePermission):
    """An outside party acting on its own party orders."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if not _actor(info).is_partner:
            raise Forbidden("This needs a partner token.")
        return True
