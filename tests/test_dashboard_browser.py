"""Operations staff watch orders on the dashboard in a real browser (headless Chromium, real uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    require_chromium,
    screenshot,
    serve,
)
from tests.launcher import ServiceProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_chromium()
    # the jeopardy monitor sweeps every second, so a jeopardy it raises shows up quickly
    yield from serve(tmp_path_factory.mktemp("dashboard"), MONITOR_INTERVAL_SECONDS="1")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    yield page
    context.close()
    assert errors == [], errors  # no script error on the page


def sign_in(page: Any, token: str) -> None:
    page.fill("#token", token)
    page.click("#signin button")


def test_the_dashboard_lists_the_demo_orders_with_counts_by_level(page: Any, server: Server) -> None:
    sign_in(page, server.viewer)
    page.wait_for_selector("#orders tbody tr")
    assert page.locator("#who-name").inner_text() == "demo-viewer (viewer)"
    rows = page.locator("#orders tbody tr")
    refs = set(rows.evaluate_all("rows => rows.map(r => r.dataset.ref)"))
    assert {f"SR-DEMO-{n:04d}" for n in range(1, 37)} <= refs  # other tests of this module add orders
    total = page.locator("#levels [data-level=ALL] .count").inner_text()
    assert int(total) == rows.count() >= 36
    assert page.locator("#orders-total").inner_text() == f"{total} of {total} orders"


def test_an_order_shows_its_tree_and_timeline(page: Any, server: Server) -> None:
    sign_in(page, server.viewer)
    page.click("#orders tbody tr[data-ref='SR-DEMO-0004']")  # demo order 4: activities and service orders
    page.wait_for_selector("#detail:not([hidden]) #timeline li")
    assert page.locator("#detail-title").inner_text().startswith("SR-DEMO-0004 · Umbrella SA")
    tree = page.locator("#tree").inner_text()
    assert "VOICE-SIP" in tree and "NUMBER-PORT" in tree and "SITE-SURVEY" in tree
    assert "site survey" in tree and "install" in tree and "service order" in tree
    types = page.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.type)")
    assert types[0] == "orderCreated" and "activityScheduled" in types
    page.wait_for_selector("#gantt .vis-item.planned.activity")  # the plan is drawn on the next animation frame
    assert page.locator("#gantt .vis-item.planned.activity").count() == 2  # the survey and the install
    shot = screenshot(page, "order-tree.png")
    assert shot.stat().st_size > 10_000


def test_filters_narrow_the_list(page: Any, server: Server) -> None:
    sign_in(page, server.viewer)
    page.wait_for_selector("#orders tbody tr")
    page.fill("#search", "SR-DEMO-0007")
    page.wait_for_function("document.querySelectorAll('#orders tbody tr').length === 1")
    page.fill("#search", "")
    page.wait_for_function("document.querySelectorAll('#orders tbody tr').length >= 36")
    page.click("#levels [data-level=LATE]")
    page.wait_for_function(
        "document.querySelector('#orders-total').textContent.endsWith(' of ' + document.querySelector('#levels [data-level=LATE] .count').textContent + ' orders')"
    )
    page.check("#open-only")
    page.click("#levels [data-level=ALL]")
    page.wait_for_function(
        "(n => n > 0 && n === +document.querySelector('#levels [data-level=ALL] .count').textContent)(document.querySelectorAll('#orders tbody tr').length)"
        " && document.querySelector('#levels [data-level=ALL]').classList.contains('active')"
    )
    states = set(page.locator("#orders tbody tr td:nth-child(4)").all_inner_texts())
    assert states and not states & {"completed", "cancelled"}


def test_a_wrong_token_gets_a_clear_message(page: Any) -> None:
    sign_in(page, "otk_this-is-not-a-token")
    page.wait_for_selector("#message:not([hidden])")
    assert page.locator("#message").inner_text() == "Sign-in failed: The token is unknown or revoked."
    assert page.locator("#board").is_hidden()
    screenshot(page, "wrong-token.png")


def test_a_partner_token_is_told_it_cannot_read_the_dashboard(page: Any, server: Server) -> None:
    partner = server.cli("create-token", "--name", "acme-partner", "--role", "partner", "--party-id", "1").strip()
    sign_in(page, partner)
    page.wait_for_selector("#message:not([hidden])")
    assert page.locator("#message").inner_text().startswith("This token may not read the dashboard:")


def party_order_with_open_change(server: Server) -> str:
    """A customer order whose party order was acknowledged with a milestone and has an open change request."""
    from datetime import datetime, timedelta, timezone

    soon = lambda days: (datetime.now(timezone.utc) + timedelta(days=days)).isoformat()  # noqa: E731  a one-line helper next to its use
    party = server.graphql(
        server.staff,
        "mutation($i: CreatePartyInput!) { createParty(input: $i) { id } }",
        {"i": {"name": "Northwind Civils", "kind": "PARTNER", "reportingIntervalHours": 24}},
    )["createParty"]
    order = server.graphql(
        server.staff,
        "mutation($i: CreateCustomerOrderInput!) { createCustomerOrder(input: $i) { id } }",
        {
            "i": {
                "salesRequestRef": "SR-PARTY-0001",
                "customerId": "C-900",
                "customerName": "Wayne Enterprises",
                "committedDate": soon(40),
                "items": [{"productRef": "DARK-FIBRE", "fulfillment": "PARTY", "partyId": party["id"]}],
            }
        },
    )["createCustomerOrder"]
    [po] = server.graphql(
        server.staff,
        "mutation($i: RequestPartyOrdersInput!) { requestPartyOrders(input: $i) { id } }",
        {"i": {"orderId": order["id"]}},
    )["requestPartyOrders"]
    partner = server.cli("create-token", "--name", "northwind", "--role", "partner", "--party-id", party["id"]).strip()
    server.graphql(
        partner,
        'mutation($id: ID!, $i: AcknowledgePartyOrderInput!) { acknowledgePartyOrder(id: $id, idempotencyKey: "a1", input: $i) { id } }',
        {
            "id": po["id"],
            "i": {
                "partyReference": "NW-4411",
                "committedDeliveryDate": soon(30),
                "milestones": [{"name": "civil works", "plannedDate": soon(20)}],
            },
        },
    )
    server.graphql(
        partner,
        'mutation($id: ID!, $i: ChangeRequestInput!) { requestPartyOrderChange(id: $id, idempotencyKey: "c1", input: $i) { id } }',
        {
            "id": po["id"],
            "i": {"nature": "FORCED", "kind": "DELIVERY_DATE", "reason": "permit delayed", "proposedDeliveryDate": soon(35)},
        },
    )
    return str(order["id"])


def test_an_order_tree_shows_its_party_orders_milestones_and_open_change_requests(page: Any, server: Server) -> None:
    party_order_with_open_change(server)
    sign_in(page, server.viewer)
    page.fill("#search", "SR-PARTY-0001")
    page.wait_for_function("document.querySelectorAll('#orders tbody tr').length === 1")
    page.click("#orders tbody tr[data-ref='SR-PARTY-0001']")
    page.wait_for_selector("#tree .party-order")
    party_order = page.locator("#tree .party-order").inner_text()
    assert "Northwind Civils" in party_order and "NW-4411" in party_order and "acknowledged" in party_order
    assert "milestone civil works" in party_order
    assert (
        page.locator("#tree .change-request")
        .inner_text()
        .startswith("open change request (forced, delivery date): permit delayed")
    )
    screenshot(page, "order-tree-party.png")


def test_an_amended_order_shows_its_revision_and_what_changed_in_it(page: Any, server: Server) -> None:
    from datetime import datetime, timedelta, timezone

    committed = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    order = server.graphql(
        server.staff,
        "mutation($i: CreateCustomerOrderInput!) { createCustomerOrder(input: $i) { id version allItems { id } } }",
        {
            "i": {
                "salesRequestRef": "SR-AMEND-0001",
                "customerId": "C-901",
                "customerName": "Initech",
                "committedDate": committed,
                "items": [{"productRef": "ACCESS-LINE", "quantity": 1}, {"productRef": "OLD-ROUTER"}],
            }
        },
    )["createCustomerOrder"]
    line, router = (i["id"] for i in order["allItems"])
    server.graphql(
        server.staff,
        "mutation($id: ID!, $v: Int!, $i: AmendCustomerOrderInput!) { amendCustomerOrder(id: $id, version: $v, input: $i) { id } }",
        {
            "id": order["id"],
            "v": order["version"],
            "i": {
                "add": [{"item": {"productRef": "SECOND-LINE"}}],
                "modify": [{"itemId": line, "quantity": 2}],
                "remove": [{"itemId": router, "reason": "customer keeps its own"}],
            },
        },
    )
    sign_in(page, server.viewer)
    page.fill("#search", "SR-AMEND-0001")
    page.wait_for_function("document.querySelectorAll('#orders tbody tr').length === 1")
    page.click("#orders tbody tr[data-ref='SR-AMEND-0001']")
    page.wait_for_selector("#revision li")
    assert "revision 1" in page.locator("#detail-meta").inner_text()
    changes = page.locator("#revision").inner_text()
    assert "Revision 1: what changed" in changes
    assert "added SECOND-LINE ×1" in changes and f"item {line}: quantity: 1 → 2" in changes
    assert f"removed item {router} (customer keeps its own)" in changes
    screenshot(page, "order-amended.png")


ORDER = "query($ref: String!) { customerOrders(filter: {text: $ref}) { edges { node { id version } } } }"
ESCALATE = 'mutation($id: ID!, $level: Int!) { escalateCustomerOrder(id: $id, level: $level, reason: "customer called") { id escalationLevel } }'


def order_by_ref(server: Server, ref: str) -> dict[str, Any]:
    [edge] = server.graphql(server.staff, ORDER, {"ref": ref})["customerOrders"]["edges"]
    return edge["node"]


def signed_in_live(page: Any, server: Server) -> None:
    sign_in(page, server.viewer)
    page.wait_for_selector("#orders tbody tr")
    page.wait_for_selector("#live-status[data-state=live]", timeout=10_000)
    page.evaluate("window.notReloaded = true")


def test_a_change_made_elsewhere_appears_within_two_seconds_without_a_reload(page: Any, server: Server) -> None:
    signed_in_live(page, server)
    order = order_by_ref(server, "SR-DEMO-0002")
    page.click("#orders tbody tr[data-ref='SR-DEMO-0002']")
    page.wait_for_selector("#detail:not([hidden]) #timeline li")
    server.graphql(
        server.staff,
        'mutation($id: ID!, $v: Int!) { updateCustomerOrder(id: $id, version: $v, input: {customerName: "Globex Live plc"}) { id } }',
        {"id": order["id"], "v": order["version"]},
    )
    page.wait_for_function(
        "document.querySelector(\"tr[data-ref='SR-DEMO-0002'] td:nth-child(2)\").textContent === 'Globex Live plc'", timeout=2000
    )
    page.wait_for_function(
        "[...document.querySelectorAll('#timeline li')].some(li => li.dataset.type === 'orderUpdated')", timeout=2000
    )
    assert page.evaluate("window.notReloaded") is True


def test_a_jeopardy_raised_by_the_monitor_shows_its_badge_and_alert(page: Any, server: Server) -> None:
    from datetime import datetime, timedelta, timezone

    signed_in_live(page, server)
    at = lambda days: (datetime.now(timezone.utc) + timedelta(days=days)).isoformat()  # noqa: E731  a one-line helper next to its use
    created = server.graphql(
        server.staff,
        "mutation($i: CreateCustomerOrderInput!) { createCustomerOrder(input: $i) { id } }",
        {
            "i": {
                "salesRequestRef": "SR-LIVE-JEOPARDY",
                "customerId": "C-100",
                "customerName": "Acme Ltd",
                "committedDate": at(5),
                "items": [{"productRef": "FIBRE-1G"}],
            }
        },
    )["createCustomerOrder"]
    order_id = created["id"]
    # the install ends after the committed date: the monitor's next sweep puts the order in jeopardy
    server.graphql(
        server.staff,
        "mutation($o: ID!, $i: ScheduleActivityInput!) { scheduleActivity(orderId: $o, input: $i) { id } }",
        {"o": order_id, "i": {"kind": "install", "plannedStart": at(1), "plannedEnd": at(9)}},
    )
    badge = "tr[data-ref='SR-LIVE-JEOPARDY'] .badge[data-level=JEOPARDY]"
    page.wait_for_selector(badge, timeout=10_000)
    page.wait_for_selector(
        f"#feed li[data-type=jeopardyChanged][data-order-id='{order_id}'] .badge[data-level=JEOPARDY]", timeout=5000
    )
    assert int(page.locator("#levels [data-level=JEOPARDY] .count").inner_text()) >= 1
    assert page.evaluate("window.notReloaded") is True
    page.click("#orders tbody tr[data-ref='SR-LIVE-JEOPARDY']")
    page.wait_for_selector("#detail:not([hidden]) #timeline li[data-type=jeopardyChanged]")
    screenshot(page, "dashboard.png")


def test_after_a_lost_connection_the_dashboard_says_so_and_replays_what_it_missed(
    page: Any, server: Server, tmp_path: Path
) -> None:
    signed_in_live(page, server)
    first, missed = order_by_ref(server, "SR-DEMO-0008"), order_by_ref(server, "SR-DEMO-0010")
    server.graphql(server.staff, ESCALATE, {"id": first["id"], "level": 1})
    page.wait_for_selector(
        f"#feed li[data-type=escalated][data-order-id='{first['id']}']", timeout=2000
    )  # the alert stream has a cursor now

    server.stop()
    page.wait_for_selector("#message:not([hidden])", timeout=5000)
    assert page.locator("#message").inner_text().startswith("Connection to the server lost")
    assert page.locator("#live-status").get_attribute("data-state") in ("lost", "reconnecting")
    screenshot(page, "connection-lost.png")
    # while this server is down another one, on the same database, takes a change
    env = {**server.env, "MONITOR_ENABLED": "false"}
    other = Server(url="", staff=server.staff, viewer=server.viewer, env=env, process=ServiceProcess(env, inherit_env=False))
    other.url = other.process.url
    other.start()
    try:
        other.graphql(server.staff, ESCALATE, {"id": missed["id"], "level": 2})
    finally:
        other.process.close()
    server.start()
    # the escalation reaches the feed only through the alert stream: replayed after the cursor
    page.wait_for_selector(
        f"#feed li[data-type=escalated][data-order-id='{missed['id']}'] .badge[data-escalation='2']", timeout=15_000
    )
    page.wait_for_selector("#live-status[data-state=live]")
    assert page.locator("#message").is_hidden()
    assert page.locator(f"#feed li[data-order-id='{first['id']}']").count() == 1  # no duplicate
    assert page.evaluate("window.notReloaded") is True


PLAN_ORDER = """query($id: ID!) { customerOrder(id: $id) { committedDate
  forecast { completionP50 completionP90 onTimeProbability criticalPath { kind id } }
  activities { id } partyOrders { id } } }"""


def planned_order_with_a_party_and_a_chain(server: Server) -> dict[str, Any]:
    """An order with a survey → install chain, the install started late, and a delivery from a demo party
    (which has a history, so its forecast is learned), acknowledged with a milestone, then moved by the party."""
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    at = lambda days: (now + timedelta(days=days)).isoformat()  # noqa: E731  a one-line helper next to its use
    edges = server.graphql(server.staff, "{ parties(first: 50) { edges { node { id name } } } }")["parties"]["edges"]
    [party] = [e["node"] for e in edges if e["node"]["name"] == "Northern Civils"]
    order = server.graphql(
        server.staff,
        "mutation($i: CreateCustomerOrderInput!) { createCustomerOrder(input: $i) { id } }",
        {
            "i": {
                "salesRequestRef": "SR-PLAN-0001",
                "customerId": "C-100",
                "customerName": "Acme Ltd",
                "committedDate": at(20),
                "items": [
                    {"productRef": "FIBRE-1G"},
                    {"productRef": "ACCESS-CIRCUIT", "fulfillment": "PARTY", "partyId": party["id"]},
                ],
            }
        },
    )["createCustomerOrder"]
    oid = order["id"]
    schedule = "mutation($o: ID!, $i: ScheduleActivityInput!) { scheduleActivity(orderId: $o, input: $i) { id } }"
    survey = server.graphql(
        server.staff,
        schedule,
        {"o": oid, "i": {"kind": "site survey", "plannedStart": at(-1), "plannedEnd": at(1), "workGroup": "field-north"}},
    )["scheduleActivity"]
    server.graphql(
        server.staff,
        schedule,
        {
            "o": oid,
            "i": {
                "kind": "install",
                "plannedStart": at(1),
                "plannedEnd": at(6),
                "workGroup": "field-north",
                "predecessorIds": [survey["id"]],
            },
        },
    )
    server.graphql(
        server.staff,
        "mutation($id: ID!, $at: DateTime!) { recordActivityProgress(id: $id, input: {state: IN_PROGRESS, percentComplete: 30, actualStart: $at}) { id } }",
        {"id": survey["id"], "at": at(-0.5)},
    )
    [po] = server.graphql(
        server.staff, "mutation($i: RequestPartyOrdersInput!) { requestPartyOrders(input: $i) { id } }", {"i": {"orderId": oid}}
    )["requestPartyOrders"]
    partner = server.cli("create-token", "--name", "northern-civils", "--role", "partner", "--party-id", party["id"]).strip()
    server.graphql(
        partner,
        'mutation($id: ID!, $i: AcknowledgePartyOrderInput!) { acknowledgePartyOrder(id: $id, idempotencyKey: "p1", input: $i) { id } }',
        {
            "id": po["id"],
            "i": {
                "partyReference": "NC-7",
                "committedDeliveryDate": at(10),
                "milestones": [{"name": "ducts laid", "plannedDate": at(5)}],
            },
        },
    )
    server.graphql(
        partner,
        'mutation($id: ID!, $i: ProgressReportInput!) { reportPartyOrderProgress(id: $id, idempotencyKey: "p2", input: $i) { id } }',
        {"id": po["id"], "i": {"percentComplete": 20, "expectedDeliveryDate": at(12)}},
    )
    plan: dict[str, Any] = server.graphql(server.staff, PLAN_ORDER, {"id": oid})["customerOrder"]
    return {**plan, "id": oid, "moved": (now + timedelta(days=10), now + timedelta(days=12))}


def test_an_orders_plan_is_drawn_and_its_timeline_reads_as_sentences(page: Any, server: Server) -> None:
    order = planned_order_with_a_party_and_a_chain(server)
    forecast = order["forecast"]
    assert forecast and forecast["completionP50"] and forecast["criticalPath"], (
        forecast
    )  # drawn at once, by the write's reconciliation
    sign_in(page, server.viewer)
    page.fill("#search", "SR-PLAN-0001")
    page.wait_for_function("document.querySelectorAll('#orders tbody tr').length === 1")
    page.click("#orders tbody tr[data-ref='SR-PLAN-0001']")
    page.wait_for_selector("#gantt .vis-item.planned")

    # planned bars: one per activity and per party order; actual progress; the party's milestone
    assert page.locator("#gantt .vis-item.planned.activity").count() == len(order["activities"]) == 2
    assert page.locator("#gantt .vis-item.planned.party-order").count() == len(order["partyOrders"]) == 1
    assert page.locator("#gantt .vis-item.actual").count() == 2  # the survey under way, the party reporting
    assert page.locator("#gantt .vis-item.actual.activity").inner_text() == "30%"
    assert page.locator("#gantt .vis-item.vis-point.milestone").inner_text() == "ducts laid"
    # the committed date, marked and labelled
    assert page.locator("#gantt .vis-custom-time.committed").count() == 1
    assert page.locator("#gantt .vis-custom-time-marker").inner_text() == "committed"
    # the critical chain is exactly the forecast's
    on_chain = {f"work-{w['kind']}-{w['id']}" for w in forecast["criticalPath"]}
    drawn = set(
        page.locator("#gantt .vis-item.planned.critical").evaluate_all(
            "items => items.flatMap(i => [...i.classList].filter(c => c.startsWith('work-')))"
        )
    )
    assert drawn == on_chain
    # the forecast band P50–P90 for the order, and the party's delivery band
    band = page.locator("#gantt .vis-item.vis-background.forecast-band.order")
    assert band.count() == 1 and "P50–P90" in band.inner_text()
    assert page.locator("#gantt .vis-item.vis-background.forecast-band.party-order").count() == 1
    assert f"{round(forecast['onTimeProbability'] * 100)}% on time" in page.locator("#forecast").inner_text()

    # the timeline as sentences, none a snake_case diff
    import re

    moved_from, moved_to = order["moved"]
    said = page.locator("#timeline li .summary").all_inner_texts()
    assert (
        f"Northern Civils moved its delivery from {moved_from.day} {moved_from:%b} to {moved_to.day} {moved_to:%b} (20% done)"
        in said
    )
    assert "Site survey activity started (30% done)" in said
    assert (
        "Northern Civils acknowledged its order as NC-7, committing to deliver by " + f"{moved_from.day} {moved_from:%b}" in said
    )
    assert said and not [s for s in said if re.search(r"\b[a-z]+_[a-z_]+\b", s)]
    screenshot(page, "order-plan.png")
