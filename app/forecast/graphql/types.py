"""Output types of forecasts and learned statistics (times are plain UTC timestamps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from app.forecast import learning
from app.forecast.models import OrderForecast


@strawberry.type(description="A piece of work on the critical chain.")
class CriticalWork:
    kind: str = strawberry.field(description="activity or partyOrder")
    id: strawberry.ID
    name: str = strawberry.field(description="The activity's kind, or the party's delivery.")


@strawberry.type(description="When the customer order's open work will be done, drawn from the history of closed work.")
class CustomerOrderForecast:
    completion_p50: datetime | None = strawberry.field(description="Half the draws complete by then.")
    completion_p90: datetime | None = strawberry.field(description="Nine in ten draws complete by then.")
    on_time_probability: float = strawberry.field(description="Share of draws completing by the committed date.")
    basis: str = strawberry.field(
        description="What the forecast rests on: learned history, or the plan when there is too little."
    )
    critical_path: list[CriticalWork] = strawberry.field(
        description="The chain of work that most often decides completion, first to last."
    )
    computed_at: datetime

    @classmethod
    def of(cls, row: OrderForecast) -> CustomerOrderForecast:
        return cls(
            completion_p50=row.completion_p50,
            completion_p90=row.completion_p90,
            on_time_probability=row.on_time_probability,
            basis=row.basis,
            computed_at=row.computed_at,
            critical_path=[
                CriticalWork(kind=w["kind"], id=strawberry.ID(str(w["id"])), name=w["name"]) for w in row.critical_path
            ],
        )


# PartyOrderForecast's attributes -> their keys in an entry of ``OrderForecast.party_orders`` (the read planner reads them too)
PARTY_ORDER_FORECAST_KEYS = {"delivery_p50": "p50", "delivery_p90": "p90", "on_time_probability": "probability"}


@strawberry.type(description="When the party order will be delivered, drawn from the party's delivery history.")
class PartyOrderForecast:
    delivery_p50: datetime
    delivery_p90: datetime
    on_time_probability: float = strawberry.field(
        description="Share of draws delivering by the committed delivery date (the needed-by date before one is committed)."
    )

    @classmethod
    def of(cls, entry: dict[str, Any]) -> PartyOrderForecast:
        keys = PARTY_ORDER_FORECAST_KEYS
        return cls(
            delivery_p50=datetime.fromisoformat(entry[keys["delivery_p50"]]),
            delivery_p90=datetime.fromisoformat(entry[keys["delivery_p90"]]),
            on_time_probability=float(entry[keys["on_time_probability"]]),
        )


@strawberry.type(
    description="How reliably a party delivered by its committed dates (its latest deliveries, in its business calendar)."
)
class DeliveryStats:
    on_time_rate: float | None = strawberry.field(description="Share delivered by the committed date; null before any delivery.")
    mean_slip_hours: float | None = strawberry.field(
        description="Business hours past the committed date, on average (negative: early)."
    )
    samples: int

    @classmethod
    def of(cls, stats: learning.DeliveryStats) -> DeliveryStats:
        return cls(on_time_rate=stats.on_time_rate, mean_slip_hours=stats.mean_slip_hours, samples=stats.samples)


@strawberry.type(
    description="How long completed activities of one kind and work group took against their plan, in business time."
)
class ActivityDurationStats:
    kind: str
    work_group: str | None
    samples: int
    mean_factor: float | None = strawberry.field(description="Actual over planned business duration, on average.")
    p50_factor: float | None
    p90_factor: float | None
    late_rate: float | None = strawberry.field(description="Share that took longer than planned.")

    @classmethod
    def of(cls, s: learning.DurationStats) -> ActivityDurationStats:
        return cls(
            kind=s.kind,
            work_group=s.work_group,
            samples=s.samples,
            mean_factor=s.mean_factor,
            p50_factor=s.p50_factor,
            p90_factor=s.p90_factor,
            late_rate=s.late_rate,
        )
