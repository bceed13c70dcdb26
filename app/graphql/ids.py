"""Parsing the IDs clients send."""

from __future__ import annotations

from app.errors import InvalidInput

MAX_ID = 2**63 - 1


def parse_id(value: object, field: str = "id") -> int:
    """IDs are decimal integers sent as strings; anything else is INVALID_INPUT."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_ID or int(text) < 1:
        raise InvalidInput(f"'{str(value)[:40]}' is not a valid id.", field=field)
    return int(text)


def parse_ids(values: list[object] | None, field: str) -> list[int]:
    return [parse_id(v, field) for v in values or []]
