"""Clients send a hash instead of the query (Apollo's persisted queries); partners can be held to the contract."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from app.auth import Role
from app.clock import FrozenClock
from app.config import Settings
from app.db import Database
from app.graphql.contract import load_operations, sha256_hex
from tests.api import Api
from tests.conftest import issue_token
from tests.factories import create_order
from tests.live import wait_until

CONTRACT = {o.name: o for o in load_operations()}
AD_HOC = "query Mine { me { name role } }"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite:///unused.db", monitor_enabled=False, partner_persisted_only=True, _env_file=None
    )


async def send(http: httpx.AsyncClient, token: str | None, **body: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def persisted(sha256: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]["code"]


async def test_a_contract_operation_runs_by_its_hash_alone(http: httpx.AsyncClient, staff: Api, clock: FrozenClock) -> None:
    order = await create_order(staff, clock.now())
    tree = CONTRACT["OrderTree"]
    body = await send(
        http, staff.token, extensions=persisted(tree.sha256), variables={"id": order["id"]}, operationName="OrderTree"
    )
    assert body["data"]["customerOrder"]["salesRequestRef"] == order["salesRequestRef"]
    assert body["data"]["customerOrder"]["items"][0]["productRef"] == "FIBRE-1G"


async def test_an_unknown_hash_is_registered_once_the_client_sends_the_query(http: httpx.AsyncClient, staff: Api) -> None:
    sha256 = sha256_hex(AD_HOC)
    first = await send(http, staff.token, extensions=persisted(sha256))
    assert code(first) == "PERSISTED_QUERY_NOT_FOUND"
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo's client looks for
    second = await send(http, staff.token, query=AD_HOC, extensions=persisted(sha256))
    assert second["data"] == {"me": {"name": "sam.staff", "role": "staff"}}
    third = await send(http, staff.token, extensions=persisted(sha256))
    assert third["data"] == second["data"]


async def test_a_hash_that_does_not_match_the_query_is_refused_and_not_stored(http: httpx.AsyncClient, staff: Api) -> None:
    wrong = sha256_hex("something else")
    assert code(await send(http, staff.token, query=AD_HOC, extensions=persisted(wrong))) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert code(await send(http, staff.token, extensions=persisted(wrong))) == "PERSISTED_QUERY_NOT_FOUND"
    assert (
        code(await send(http, staff.token, extensions={"persistedQuery": {"version": 2, "sha256Hash": wrong}}))
        == "PERSISTED_QUERY_NOT_SUPPORTED"
    )
    assert code(await send(http, staff.token, extensions=persisted("not-hex"))) == "INVALID_INPUT"


async def test_nobody_signed_in_cannot_fill_the_store(http: httpx.AsyncClient, staff: Api) -> None:
    query = "query Anon { __typename }"
    sha256 = sha256_hex(query)
    assert (await send(http, None, query=query, extensions=persisted(sha256)))["data"] == {"__typename": "Query"}
    assert code(await send(http, staff.token, extensions=persisted(sha256))) == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_persisted_query_runs_by_get_too(http: httpx.AsyncClient, staff: Api) -> None:
    me = CONTRACT["Me"]
    response = await http.get(
        "/graphql",
        params={"extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{me.sha256}"}}}}'},
        headers={"Authorization": f"Bearer {staff.token}"},
    )
    assert response.json()["data"]["me"]["role"] == "staff"


async def test_partners_run_only_the_contracts_operations_when_persisted_only_is_set(
    http: httpx.AsyncClient, db: Database, clock: FrozenClock, staff: Api
) -> None:
    partner = await issue_token(db, clock, Role.PARTNER, "acme-field-services", party_id=7)
    me = CONTRACT["Me"]
    by_hash = await send(http, partner, extensions=persisted(me.sha256))
    assert by_hash["data"]["me"] == {"name": "acme-field-services", "role": "partner", "partyId": "7"}
    by_text = await send(http, partner, query=me.body)  # the exact contract text is the same operation
    assert by_text["data"] == by_hash["data"]
    assert code(await send(http, partner, query=AD_HOC)) == "PERSISTED_QUERY_NOT_IN_LIST"
    assert (
        code(await send(http, partner, query=AD_HOC, extensions=persisted(sha256_hex(AD_HOC)))) == "PERSISTED_QUERY_NOT_IN_LIST"
    )
    # a partner cannot register, and what staff registered is still not the contract
    await send(http, staff.token, query=AD_HOC, extensions=persisted(sha256_hex(AD_HOC)))
    assert code(await send(http, partner, extensions=persisted(sha256_hex(AD_HOC)))) == "PERSISTED_QUERY_NOT_IN_LIST"
    assert (await send(http, staff.token, query=AD_HOC))["data"]["me"]["role"] == "staff"  # staff are not limited


class ContractClient:
    """Sends only the contract's operations, by hash (what a partner integration built on it does)."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token = http, token

    async def run(self, name: str, **variables: Any) -> dict[str, Any]:
        body = await send(
            self.http, self.token, operationName=name, variables=variables, extensions=persisted(CONTRACT[name].sha256)
        )
        assert not body.get("errors"), body["errors"]
        return body["data"]


async def test_a_partner_integration_runs_on_the_contract_alone(
    http: httpx.AsyncClient, db: Database, clock: FrozenClock, staff: Api
) -> None:
    from datetime import timedelta

    from tests.party import (
        create_party,
        order_with_party_items,
        partner_api,
        requisition,
    )

    party = await create_party(staff, kind="PARTNER")
    order = await order_with_party_items(staff, clock.now(), party["id"])
    [po] = await requisition(staff, order["id"])
    partner = ContractClient(http, (await partner_api(http, db, clock, party["id"])).token or "")
    ops = ContractClient(http, staff.token or "")

    mine = await partner.run("PartyOrderList")
    assert [e["node"]["id"] for e in mine["partyOrders"]["edges"]] == [po["id"]]
    when = (clock.now() + timedelta(days=20)).isoformat()
    ack = await partner.run(
        "AcknowledgePartyOrder",
        id=po["id"],
        idempotencyKey="ack-1",
        input={
            "partyReference": "ACME-77",
            "committedDeliveryDate": when,
            "milestones": [{"name": "duct survey", "plannedDate": when}],
        },
    )
    assert ack["acknowledgePartyOrder"]["state"] == "ACKNOWLEDGED"
    await partner.run(
        "ReportPartyOrderProgress", id=po["id"], idempotencyKey="rep-1", input={"percentComplete": 30, "note": "ducts cleared"}
    )
    later = (clock.now() + timedelta(days=25)).isoformat()
    change = await partner.run(
        "RequestPartyOrderChange",
        id=po["id"],
        idempotencyKey="chg-1",
        input={"nature": "FORCED", "kind": "DELIVERY_DATE", "reason": "road works permit delayed", "proposedDeliveryDate": later},
    )
    progress = (await partner.run("PartyOrderProgress", id=po["id"]))["partyOrder"]
    assert progress["percentComplete"] == 30 and progress["partyReference"] == "ACME-77"
    assert [m["name"] for m in progress["milestones"]] == ["duct survey"]
    assert [r["note"] for r in progress["progressReports"]] == ["ducts cleared"]

    # the enterprise sees the party order and its open change request in the order tree, and decides
    tree = (await ops.run("OrderTree", id=order["id"]))["customerOrder"]
    [seen] = tree["partyOrders"]
    assert seen["party"]["name"] == party["name"] and seen["changeRequests"][0]["state"] == "OPEN"
    pending = await ops.run("OpenChangeRequests", orderId=order["id"])
    assert [e["node"]["id"] for e in pending["openChangeRequests"]["edges"]] == [change["requestPartyOrderChange"]["id"]]
    resolved = await ops.run("ResolveChangeRequest", id=change["requestPartyOrderChange"]["id"], decision="ACCEPT", note="agreed")
    assert resolved["resolvePartyChangeRequest"]["state"] == "ACCEPTED"
    assert (await ops.run("OpenChangeRequests", orderId=order["id"]))["openChangeRequests"]["totalCount"] == 0
    # and with PARTNER_PERSISTED_ONLY the partner cannot step outside the contract
    assert code(await send(http, partner.token, query="{ partyOrders { totalCount } }")) == "PERSISTED_QUERY_NOT_IN_LIST"


async def ws_subscribe(address: str, token: str, payload: dict[str, Any]) -> Any:
    """A raw graphql-transport-ws connection with one subscription sent (payload as given)."""
    ws = await websockets.connect(f"ws://{address}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return ws


async def next_message(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_subscriptions_run_by_hash_and_partners_stay_inside_the_contract_on_websockets(
    db: Database, clock: FrozenClock, settings: Settings
) -> None:
    from app.main import create_app
    from tests.launcher import serve_app
    from tests.party import create_party, order_with_party_items, requisition

    app = create_app(settings.model_copy(update={"bus_poll_interval_seconds": 0.5}), db=db, clock=clock)
    async with serve_app(app) as address, httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as http:
        staff = Api(http, await issue_token(db, clock, Role.STAFF, "sam.staff"))
        order = await create_order(staff, clock.now())
        timeline = CONTRACT["LiveOrderTimeline"]
        ws = await ws_subscribe(
            address,
            staff.token or "",
            {  # the hash alone, no query text
                "operationName": timeline.name,
                "variables": {"orderId": order["id"]},
                "extensions": persisted(timeline.sha256),
            },
        )
        bus = app.state.ordertrack.services.bus
        try:
            await wait_until(lambda: bus.subscriber_count == 1, timeout=5, what="the subscription to be registered")
            await staff.ok('mutation($id: ID!) { addOrderNote(orderId: $id, text: "called") { id } }', {"id": order["id"]})
            message = await next_message(ws)
            assert message["type"] == "next" and message["payload"]["data"]["orderEvents"]["type"] == "noteAdded"
        finally:
            await ws.close()
        await wait_until(lambda: bus.subscriber_count == 0, timeout=5, what="the first subscription to end")

        party = await create_party(staff, kind="PARTNER")
        partner = await issue_token(db, clock, Role.PARTNER, "northwind", party_id=int(party["id"]))
        ad_hoc = await ws_subscribe(address, partner, {"query": "subscription { partyOrderEvents { sequence } }"})
        try:
            refused = await next_message(ad_hoc)
            assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        finally:
            await ad_hoc.close()
        live = CONTRACT["LivePartyOrderEvents"]
        mine = await ws_subscribe(
            address, partner, {"operationName": live.name, "variables": {}, "extensions": persisted(live.sha256)}
        )
        try:
            await wait_until(lambda: bus.subscriber_count == 1, timeout=5, what="the partner's subscription to be registered")
            party_order = await order_with_party_items(staff, clock.now(), party["id"])
            await requisition(staff, party_order["id"])
            message = await next_message(mine)
            assert message["type"] == "next" and message["payload"]["data"]["partyOrderEvents"]["type"] == "partyOrderCreated"
        finally:
            await mine.close()
