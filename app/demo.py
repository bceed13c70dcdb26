"""A demo data set: a few dozen customer orders in varied states, with activities and service orders."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.auth import Actor, Role
from app.clock import Clock
from app.db import Database
from app.history import HistorySpec, generate_history
from app.orders import activities, closing, service, service_orders
from app.orders.models import CustomerOrder
from app.party_orders import partner, service as party_service
from app.party_orders.demo import PARTIES, create_demo_parties, load_party_demo

DEMO_ACTOR = Actor(name="demo-loader", role=Role.STAFF)
CUSTOMERS = [
    ("C-100", "Acme Ltd"),
    ("C-200", "Globex plc"),
    ("C-300", "Initech GmbH"),
    ("C-400", "Umbrella SA"),
    ("C-500", "Hooli Inc"),
]
PRODUCTS = [
    ("FIBRE-1G", ["ROUTER-X", "CPE-INSTALL"]),
    ("SDWAN-EDGE", ["LICENCE-3Y"]),
    ("IP-BLOCK-29", []),
    ("VOICE-SIP", ["NUMBER-PORT"]),
]
PRIORITIES = ["low", "normal", "normal", "high", "critical"]


async def has_orders(db: Database) -> bool:
    async with db.read() as session:
        return bool((await session.execute(select(func.count()).select_from(CustomerOrder))).scalar())


# The demo's history (15 closed orders: 5 per party, the forecasts' default min_samples): how late each
# demo party delivered, how often each kind of work overran. The first party is the least reliable:
# the installs that wait on its deliveries are what the forecasts name.
HISTORY_PARTY_SLIP = {PARTIES[0][0]: 0.6, PARTIES[1][0]: 0.1, PARTIES[2][0]: 0.25}
HISTORY_KIND_SLIP = {"site survey": 0.1, "install": 0.4}


async def load_demo(
    db: Database, clock: Clock, count: int = 36, seed: int = 7, history: int = 15, history_db: Database | None = None
) -> list[int]:
    """Create ``count`` open orders through the same domain functions the API uses (so events exist too),
    after ``history`` closed ones (app/history.py) that the forecasts learn from, written through
    ``history_db`` (default ``db``; the command line gives it a Database of its own, because a process
    keeps the learned histories it read per Database for the policy's ``forecast.keep``, and the open
    orders' forecasts must read the history just written)."""
    if db.reconcile is None:  # its writes would leave every order unreconciled
        raise RuntimeError("The database has no reconciliation wired (create_app and the command line hand it in).")
    party_ids = await create_demo_parties(db, clock)
    if history:
        spec = HistorySpec(
            orders=history, party_slip=HISTORY_PARTY_SLIP, kind_slip=HISTORY_KIND_SLIP, seed=seed, ref_prefix="SR-DEMO-H"
        )
        await generate_history(history_db or db, spec, clock.now())
    rng = random.Random(seed)
    ids: list[int] = []
    for n in range(count):
        now = clock.now()
        customer_id, customer_name = CUSTOMERS[n % len(CUSTOMERS)]
        product, children = PRODUCTS[n % len(PRODUCTS)]
        items = [
            service.NewItem(product_ref=product, children=[service.NewItem(product_ref=c) for c in children]),
            service.NewItem(product_ref="SITE-SURVEY"),
        ]
        supplied = n % 6 in (1, 2)  # an access circuit the first party delivers; the install waits on it
        if supplied:
            items.append(service.NewItem(product_ref="ACCESS-CIRCUIT", fulfillment="party", party_id=party_ids[0]))
        data = service.NewOrder(
            sales_request_ref=f"SR-DEMO-{n + 1:04d}",
            customer_id=customer_id,
            customer_name=customer_name,
            committed_date=now + timedelta(days=rng.randint(3, 60), hours=rng.randint(0, 23)),
            requested_at=now - timedelta(days=rng.randint(0, 10)),
            priority=rng.choice(PRIORITIES),
            items=items,
            contacts=[service.Contact(name=f"{customer_name} buyer", role="buyer", email=f"buyer@{customer_id.lower()}.example")],
        )
        async with db.write(DEMO_ACTOR, now) as uow:
            order = await service.create_order(uow, data)
        assert order.id is not None
        ids.append(order.id)
        await _progress(db, clock, order.id, n, rng, party_ids[0] if supplied else None)
    await load_party_demo(db, clock, party_ids)
    return ids


async def _progress(db: Database, clock: Clock, order_id: int, n: int, rng: random.Random, supplier: int | None = None) -> None:
    """Work on the order as far as its stage (``n % 6``); ``supplier``: the party whose delivery the install waits on."""
    now = clock.now()
    stage = n % 6
    if stage == 0:
        return  # just taken
    async with db.write(DEMO_ACTOR, now) as uow:
        waits = (
            [po.id or 0 for po in await party_service.request_party_orders(uow, order_id, party_service.Requisition())]
            if supplier is not None
            else []
        )
        survey = await activities.schedule_activity(
            uow,
            order_id,
            activities.NewActivity(
                kind="site survey",
                planned_start=now - timedelta(days=2),
                planned_end=now + timedelta(days=1),
                work_group="field-north",
            ),
        )
        install = await activities.schedule_activity(
            uow,
            order_id,
            activities.NewActivity(
                kind="install",
                planned_start=now + timedelta(days=1),
                planned_end=now + timedelta(days=rng.randint(2, 20)),
                work_group="field-north",
                predecessor_ids=[survey.id or 0],
                waits_on_party_order_ids=waits,
            ),
        )
        await service_orders.generate_service_order_requests(uow, order_id)
    if supplier is not None and waits:
        await _supplier_slips(db, now, waits[0], supplier, install.planned_start, n)
    if stage >= 2:
        async with db.write(DEMO_ACTOR, now) as uow:
            await activities.record_progress(
                uow, survey.id or 0, None, activities.ActivityProgress(state="inProgress", percent_complete=40)
            )
    if stage == 3:
        async with db.write(DEMO_ACTOR, now) as uow:
            await activities.record_progress(uow, survey.id or 0, None, activities.ActivityProgress(state="completed"))
            await activities.record_progress(
                uow, install.id or 0, None, activities.ActivityProgress(state="inProgress", percent_complete=20)
            )
    if stage == 4:
        async with db.write(DEMO_ACTOR, now) as uow:
            await service.change_order_state(uow, order_id, "held", "customer site not ready")
    if stage == 5 and n % 12 == 5:
        async with db.write(DEMO_ACTOR, now) as uow:
            await closing.cancel_order(uow, order_id, "sales request cancelled by the customer")
    elif stage == 5:
        async with db.write(DEMO_ACTOR, now) as uow:
            await closing.complete_order(uow, order_id, force=True, reason="demo: delivered ahead of plan")


async def _supplier_slips(db: Database, now: datetime, po_id: int, party_id: int, install_start: datetime, n: int) -> None:
    """The supplier commits to deliver when the install is to start, then expects to deliver two days later."""
    supplier = Actor(name=f"demo-partner-{party_id}", role=Role.PARTNER, party_id=party_id)
    async with db.write(supplier, now) as uow:
        await partner.acknowledge(
            uow,
            po_id,
            f"demo-install-{n}-ack",
            partner.Acknowledgement(party_ref=f"AC-{1000 + n}", committed_delivery=install_start),
        )
    async with db.write(supplier, now) as uow:
        await partner.report_progress(
            uow,
            po_id,
            f"demo-install-{n}-rep",
            partner.ProgressReport(
                percent_complete=30, expected_delivery=install_start + timedelta(days=2), note="civils permit delayed"
            ),
        )
