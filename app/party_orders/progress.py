"""What a partner's progress report says: read by the full path (``partner``) and the fast path (``quick_report``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class ProgressReport:
    percent_complete: int | None = None
    note: str | None = None
    expected_delivery: datetime | None = None
    milestone_id: int | None = None
