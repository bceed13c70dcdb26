"""PostgreSQL goes away under a partner's plain progress report (the one-statement path and the direct
lane): the report is UNAVAILABLE, and the partner's retry with the same key commits it exactly once."""

from __future__ import annotations

import httpx
import pytest

from app.audit import audit
from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.api import Api
from tests.conftest import issue_token
from tests.party import GET_PO, REPORT, acknowledge, create_party, order_with_party_items, requisition
from tests.tcp_proxy import TcpProxy
from tests.test_database_outage import proxied, until_ok  # noqa: F401  (the fixture)
from tests.test_partner_direct_lane import PLAIN


@pytest.mark.parametrize("failure", ["cut", "stall"])
async def test_a_report_lost_to_an_outage_is_unavailable_and_its_retry_commits_it_once(
    failure: str,
    proxied: tuple[TcpProxy, Database],  # noqa: F811  the fixture imported above, named by the parameter
    clock: FrozenClock,
) -> None:
    proxy, db = proxied
    # Tokens cached: the request gets past sign-in and meets the outage in the report itself.
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, token_cache_seconds=600, _env_file=None
    )
    app = create_app(settings, db=db, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ordertrack.test", timeout=30) as http,
    ):
        staff = Api(http, await issue_token(db, clock, Role.STAFF, "outage.staff"))
        party = await create_party(staff)
        partner = Api(http, await issue_token(db, clock, Role.PARTNER, "outage.partner", party_id=int(party["id"])))
        order = await order_with_party_items(staff, clock.now(), party["id"])
        (po,) = await requisition(staff, order["id"])
        await acknowledge(partner, po["id"], clock.now())
        await partner.ok(REPORT, {"id": po["id"], "key": "first", "input": {"percentComplete": 5}})
        variables = {"id": po["id"], "key": "in-the-outage", "input": {"percentComplete": 60, "note": "poles up"}}

        await (proxy.cut() if failure == "cut" else proxy.stall())
        body = await partner.send(PLAIN, variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE", body

        await proxy.restore()
        answer = (await until_ok(partner, PLAIN, variables))["r"]
        again = (await partner.ok(PLAIN, variables))["r"]
        seen = (await partner.ok(GET_PO, {"id": po["id"]}))["partyOrder"]
        assert answer == again and answer["pct"] == seen["percentComplete"] == 60
        assert [r["percentComplete"] for r in seen["progressReports"]] == [5, 60]
        assert (await audit(db)).ok
