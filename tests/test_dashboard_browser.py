"""Operations staff watch orders on the dashboard in a real browser (headless Chromium, real uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, Server, require_chromium, screenshot, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_chromium()
    yield from serve(tmp_path_factory.mktemp("dashboard"))


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
    assert rows.count() == 36
    refs = set(rows.evaluate_all("rows => rows.map(r => r.dataset.ref)"))
    assert {f"SR-DEMO-{n:04d}" for n in range(1, 37)} == refs
    assert page.locator("#levels [data-level=ALL] .count").inner_text() == "36"
    assert page.locator("#orders-total").inner_text() == "36 of 36 orders"


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
    shot = screenshot(page, "dashboard.png")
    assert shot.stat().st_size > 10_000


def test_filters_narrow_the_list(page: Any, server: Server) -> None:
    sign_in(page, server.viewer)
    page.wait_for_selector("#orders tbody tr")
    page.fill("#search", "SR-DEMO-0007")
    page.wait_for_function("document.querySelectorAll('#orders tbody tr').length === 1")
    page.fill("#search", "")
    page.wait_for_function("document.querySelectorAll('#orders tbody tr').length === 36")
    page.click("#levels [data-level=LATE]")
    page.wait_for_function("document.querySelector('#orders-total').textContent.endsWith(' of ' + document.querySelector('#levels [data-level=LATE] .count').textContent + ' orders')")
    page.check("#open-only")
    page.click("#levels [data-level=ALL]")
    page.wait_for_function("(n => n > 0 && n < 36)(document.querySelectorAll('#orders tbody tr').length)")
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
