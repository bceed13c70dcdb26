"""Demo party orders: three parties and a handful of customer orders in every stage of party tracking."""

from __future__ import annotations

from datetime import timedelta

from app.auth import Actor, Role
from app.clock import Clock
from app.db import Database
from app.orders import closing, service as orders
from app.party_orders import change_requests, partner, service

DEMO_STAFF = Actor(name="demo-loader", role=Role.STAFF)
PARTIES = [("Northern Civils", "supplier", 48), ("MetroLink Wholesale", "partner", 24), ("CPE Direct", "supplier", 72)]
STAGES = ["requested", "acknowledged", "reporting", "changeOpen", "changeAccepted", "delivered", "cancelling", "silent"]


async def create_demo_parties(db: Database, clock: Clock) -> list[int]:
    """The demo's parties (their history, app/history.py, is written before their open orders)."""
    party_ids = []
    async with db.write(DEMO_STAFF, clock.now()) as uow:
        for name, kind, hours in PARTIES:
            party = await service.create_party(uow, service.NewParty(name=name, kind=kind, reporting_interval_hours=hours))
            party_ids.append(party.id or 0)
    return party_ids


async def load_party_demo(db: Database, clock: Clock, party_ids: list[int] | None = None) -> list[int]:
    """One customer order per stage with the demo's parties (created here unless given); returns the party ids."""
    if party_ids is None:
        party_ids = await create_demo_parties(db, clock)
    for n, stage in enumerate(STAGES):
        await _stage(db, clock, n, stage, party_ids)
    return party_ids


async def _stage(db: Database, clock: Clock, n: int, stage: str, party_ids: list[int]) -> None:
    first, second = party_ids[n % len(party_ids)], party_ids[(n + 1) % len(party_ids)]
    # A silent party acknowledged three days ago and has not reported since.
    start = clock.now() - timedelta(days=3) if stage == "silent" else clock.now()
    data = orders.NewOrder(
        sales_request_ref=f"SR-DEMO-P-{n + 1:04d}",
        customer_id="C-600",
        customer_name="Wayne Logistics",
        committed_date=start + timedelta(days=30 + n),
        requested_at=start - timedelta(days=1),
        items=[
            orders.NewItem(
                product_ref="ACCESS-CIRCUIT",
                fulfillment="party",
                party_id=first,
                children=[orders.NewItem(product_ref="NTE-UNIT", fulfillment="party", party_id=first)],
            ),
            orders.NewItem(product_ref="CPE-ROUTER", fulfillment="party", party_id=second),
            orders.NewItem(product_ref="SITE-SURVEY"),
        ],
    )
    async with db.write(DEMO_STAFF, start) as uow:
        order = await orders.create_order(uow, data)
        pos = await service.request_party_orders(uow, order.id or 0, service.Requisition())
    if stage == "requested":
        return
    po = pos[0]
    party = Actor(name=f"demo-partner-{po.party_id}", role=Role.PARTNER, party_id=po.party_id)
    async with db.write(party, start) as uow:
        await partner.acknowledge(
            uow,
            po.id or 0,
            f"demo-{n}-ack",
            partner.Acknowledgement(
                party_ref=f"P{po.party_id}-{1000 + n}",
                committed_delivery=start + timedelta(days=20 + n),
                milestones=[
                    service.NewMilestone("survey done", start + timedelta(days=5)),
                    service.NewMilestone("installed", start + timedelta(days=15 + n)),
                ],
            ),
        )
    if stage in ("reporting", "changeOpen", "changeAccepted", "delivered"):
        async with db.write(party, start) as uow:
            await partner.report_progress(
                uow, po.id or 0, f"demo-{n}-rep", partner.ProgressReport(percent_complete=40, note="survey done")
            )
    if stage in ("changeOpen", "changeAccepted"):
        async with db.write(party, start) as uow:
            request = await partner.request_change(
                uow,
                po.id or 0,
                f"demo-{n}-chg",
                change_requests.NewChangeRequest(
                    nature="forced",
                    kind="deliveryDate",
                    reason="street works permit delayed",
                    proposed_delivery=start + timedelta(days=35 + n),
                ),
            )
        if stage == "changeAccepted":
            async with db.write(DEMO_STAFF, start) as uow:
                await change_requests.resolve_change_request(uow, request.id or 0, True, "customer agreed the new date")
    if stage == "delivered":
        async with db.write(party, start) as uow:
            await partner.report_completion(uow, po.id or 0, f"demo-{n}-done", None, "handed over")
    if stage == "cancelling":
        async with db.write(DEMO_STAFF, start) as uow:
            await closing.cancel_order(uow, order.id or 0, "sales request withdrawn by the customer")


__all__ = ["create_demo_parties", "load_party_demo"]
