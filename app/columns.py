"""Column types and row helpers every table uses (models import these, not the database module)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Table, inspect as sa_inspect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

M = TypeVar("M")

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend; SQLite keeps them as naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def as_loaded(model: type[M], values: dict[str, Any]) -> M:
    """A model instance holding stored values (every column), made the way the ORM makes one for a
    loaded row: without ``__init__``'s per-field work (~50 µs for an event), and in no session."""
    obj = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]  # SQLAlchemy's class manager, on every mapped class
    obj.__dict__.update(values)
    return obj


def table_of(model: type[Any]) -> Table:
    """The Core table of a SQLModel table class, typed (SQLModel sets ``__table__`` without declaring it)."""
    table = sa_inspect(model).local_table
    assert isinstance(table, Table)
    return table
