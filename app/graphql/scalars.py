"""Scalar overrides: a DateTime that only accepts instants this service can store."""

from __future__ import annotations

from datetime import datetime, timezone

import dateutil.parser
from strawberry.schema.types.base_scalars import isoformat, wrap_parser
from strawberry.types.scalar import ScalarDefinition


def parse_aware_datetime(value: str) -> datetime:
    """ISO 8601 with a time zone, and convertible to UTC (so not past either end of the calendar)."""
    parsed = dateutil.parser.isoparse(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("It needs a time zone, for example 2027-01-31T12:00:00Z.")
    try:
        parsed.astimezone(timezone.utc)
    except OverflowError as exc:
        raise ValueError("It is outside the years 1 to 9999 in UTC.") from exc
    return parsed


AwareDateTime = ScalarDefinition(
    name="DateTime",
    description="Date with time (isoformat)",
    specified_by_url=None,
    serialize=isoformat,
    parse_value=wrap_parser(parse_aware_datetime, "DateTime", exceptions=(ValueError, OverflowError)),
    parse_literal=None,
    origin=datetime,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {datetime: AwareDateTime}
