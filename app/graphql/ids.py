"""Parsing the IDs clients send."""

from __future__ import annotations

from collections.abc import Sequence

from app.errors import InvalidInput
from app.validation import MAX_ID


def parse_id(value: object, field: str = "id") -> int:
    """IDs are decimal integers from 1 to 2^31-1 sent as strings; anything else is INVALID_INPUT,
    refused here so that no value a column cannot hold ever reaches SQL."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(f"'{str(value)[:40]}' is not a valid id.", field=field)
    return int(text)


def parse_ids(values: Sequence[object] | None, field: str) -> list[int]:
    return [parse_id(v, field) for v in values or []]
