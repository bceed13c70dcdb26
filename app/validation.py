"""Small input checks shared by every domain; each raises INVALID_INPUT naming the field."""

from __future__ import annotations

from datetime import datetime

from app.errors import InvalidInput

MAX_TEXT = 2000
MAX_NAME = 200
MAX_ID = 2**31 - 1  # row ids are 32-bit INTEGER columns on PostgreSQL
MAX_SEQ = 2**63 - 1  # event sequence numbers are BIGINT


def text(value: str | None, field: str, *, max_len: int = MAX_TEXT, required: bool = False) -> str | None:
    """Trim, refuse control characters and over-long text; empty optional text becomes None."""
    if value is None:
        if required:
            raise InvalidInput(f"{field} is required.", field=field)
        return None
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be empty.", field=field)
    if len(cleaned) > max_len:
        raise InvalidInput(f"{field} is longer than {max_len} characters.", field=field, max_length=max_len)
    if any(ord(c) < 32 and c not in "\n\t\r" for c in cleaned) or "\x7f" in cleaned:
        raise InvalidInput(f"{field} contains control characters.", field=field)
    return cleaned or None


def required_text(value: str | None, field: str, *, max_len: int = MAX_NAME) -> str:
    result = text(value, field, max_len=max_len, required=True)
    assert result is not None
    return result


def aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone (for example 2027-01-31T12:00:00Z).", field=field)
    return value


def future(value: datetime, field: str, now: datetime) -> datetime:
    aware(value, field)
    if value <= now:
        raise InvalidInput(f"{field} must be in the future (now is {now.isoformat()}).", field=field)
    return value


def ordered(start: datetime, end: datetime, start_field: str, end_field: str) -> None:
    if end <= start:
        raise InvalidInput(f"{end_field} must be after {start_field}.", field=end_field)


def characteristics(values: dict[str, str], field: str = "characteristics") -> dict[str, str]:
    if len(values) > 100:
        raise InvalidInput("At most 100 characteristics.", field=field)
    out: dict[str, str] = {}
    for name, value in values.items():
        out[required_text(name, f"{field}.name", max_len=100)] = text(value, f"{field}.{name}", max_len=1000) or ""
    return out
