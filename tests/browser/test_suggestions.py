"""Search and suggestions in Chromium, at a phone and a desktop size, with JavaScript on and off: the
storefront's search box forgives a typo, the checkout page offers what goes with the cart and "Add"
changes the cart and its total, the thank-you page's "Add" starts a new checkout. axe-core audits
every page. The server's database is made here, with an order history already folded into counts."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from ordergate import clock
from ordergate.app import create_app
from ordergate.db import migrate
from ordergate.recommendations.counts import SETTLE, fold_order_events
from ordergate.settings import Settings
from tests.accounts.helpers import claim, order_for
from tests.browser.conftest import LiveServer, new_context, screenshot, serve_app
from tests.browser.test_buyer_pages import TRACKING, audit, fill_rest
from tests.factories import DELIVERY, load_demo_store

pytestmark = pytest.mark.browser
NB, PEN, CASE = "NB-A5-DOT", "PEN-FINE-BLK", "CASE-CANVAS"


@dataclass(frozen=True)
class Prepared:
    server: LiveServer
    account_cookie: str  # a signed-in buyer's session, made through the account API


async def _history(url: str, var: Path) -> str:
    """The demo store, and orders of the notebook with the pen (3) and with the case (1), counted;
    then a buyer who ordered the case turns it into an account (its session cookie is returned)."""
    settings = Settings(database_url=url, demo=True, sandbox=True, var_dir=var)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        maker = app.state.sessionmaker
        async with maker() as session, session.begin():
            await load_demo_store(session)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://setup") as http:
            store = (await http.get("/api/v1/stores/demo")).json()
            accepted = [f"{p['id']}@{p['version']}" for p in store["policies"]]
            for other in (PEN, PEN, PEN, CASE):
                chk = await http.post(
                    "/api/v1/stores/demo/checkouts",
                    json={
                        "items": [{"sku": NB, "quantity": 1}, {"sku": other, "quantity": 1}],
                        "contact": {"email": f"b-{uuid.uuid4().hex[:6]}@example.com"},
                        "delivery": DELIVERY,
                    },
                )
                placed = await http.post(
                    f"/api/v1/stores/demo/checkouts/{chk.json()['id']}/orders",
                    json={"payment_method": "sandbox", "accepted_policies": accepted},
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                assert placed.status_code == 201, placed.text
            address = f"acct-{uuid.uuid4().hex[:6]}@example.com"
            order = await order_for(http, address, sku=CASE)
            verified = await claim(http, maker, settings, order["token"], address)
            assert verified.status_code == 201, verified.text
            cookie = http.cookies.get("og_account")
            assert cookie
        async with maker() as session, session.begin():
            assert await fold_order_events(session, now=clock.now() + SETTLE + timedelta(seconds=1)) == 5
    return cookie


@pytest.fixture(scope="module")
def history_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    workdir = tmp_path_factory.mktemp("suggestions")
    url = f"sqlite+aiosqlite:///{workdir / 'pages.db'}"
    with ThreadPoolExecutor(max_workers=1) as pool:  # outside any running event loop
        pool.submit(migrate, url).result()
        cookie = pool.submit(asyncio.run, _history(url, workdir / "var")).result()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": url,
        "ORDERGATE_BASE_URL": base,
        "ORDERGATE_SANDBOX": "1",
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_VAR_DIR": str(workdir / "var"),
        "ORDERGATE_LOG_LEVEL": "warning",
    }
    with serve_app(port, env, workdir) as log:
        yield Prepared(LiveServer(base, log), cookie)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_search_and_suggestions(
    browser: Browser, history_server: Prepared, axe_source: str, size: str, js: bool
) -> None:
    tag = f"{size}-{'js' if js else 'nojs'}"
    page = new_context(browser, size, js=js).new_page()

    # Search: a typo still finds the notebook, best match first.
    page.goto(f"{history_server.server.base}/s/demo")
    page.get_by_role("searchbox", name="Search products").fill("notebok")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Results for “notebok”")).to_be_visible()
    expect(page.locator(".product-name")).to_have_text(["A5 dotted notebook"])
    screenshot(page, f"search-{tag}")
    audit(page, axe_source, browser, size, js)
    page.get_by_role("button", name="Add to cart: A5 dotted notebook").click()
    expect(page.locator("#cart")).to_contain_text("A5 dotted notebook")
    page.get_by_role("button", name="Checkout as guest").click()
    page.wait_for_url(re.compile(r"/s/demo/checkout/[A-Za-z0-9_-]{32,}$"))

    # Checkout: what goes with the notebook, with price and "Add"; never the notebook itself.
    offers = page.get_by_role("region", name="Goes well with your order")
    expect(offers.locator(".suggestion-name")).to_have_text(["Fine liner, black (3-pack)", "Canvas pen case"])
    expect(offers).to_contain_text("€7.90")
    expect(offers).to_contain_text("Often bought together with your items")
    expect(page.locator(".grand dd")).to_have_text("€19.40")
    screenshot(page, f"checkout-suggestions-{tag}")
    audit(page, axe_source, browser, size, js)
    offers.get_by_role("button", name="Add Fine liner, black (3-pack)").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_have_text(
        "Added Fine liner, black (3-pack). Your new total is €27.30."
    )
    expect(page.locator("#items")).to_contain_text("Fine liner, black (3-pack)")
    expect(page.locator(".grand dd")).to_have_text("€27.30")
    expect(offers.locator(".suggestion-name")).to_have_text(["Canvas pen case"])
    audit(page, axe_source, browser, size, js)

    # Thank-you page: suggestions again; "Add" starts a new checkout and leaves the order alone.
    page.locator("#delivery-name").fill(DELIVERY["name"])
    fill_rest(page)
    page.get_by_role("button", name=re.compile("^Place order")).click()
    page.wait_for_url(TRACKING)
    more = page.get_by_role("region", name="You may also like")
    expect(more.locator(".suggestion-name")).to_have_text(["Canvas pen case"])
    screenshot(page, f"thank-you-suggestions-{tag}")
    audit(page, axe_source, browser, size, js)
    order_url = page.url
    more.get_by_role("button", name="Add Canvas pen case").click()
    page.wait_for_url(re.compile(r"/s/demo/checkout/[A-Za-z0-9_-]{32,}\?added="))
    expect(page.get_by_role("status").filter(has_text="Added")).to_contain_text("Added Canvas pen case.")
    expect(page.locator("#items .line-name")).to_have_text(["Canvas pen case"])
    page.goto(order_url)
    expect(page.locator(".items")).not_to_contain_text("Canvas pen case")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_account_checkout_suggestions(
    browser: Browser, history_server: Prepared, axe_source: str, size: str
) -> None:
    """A signed-in buyer's new checkout of the pen: the notebook, bought with pens, leads; "Add" puts
    it in this checkout."""
    base = history_server.server.base
    cookie = {"og_account": history_server.account_cookie}
    with httpx.Client(base_url=base, cookies=cookie) as http:
        chk = http.post(
            "/api/v1/account/stores/demo/checkouts", json={"items": [{"sku": PEN, "quantity": 1}]}
        )
    assert chk.status_code == 201, chk.text
    context = new_context(browser, size, js=True)
    context.add_cookies([{"name": "og_account", "value": history_server.account_cookie, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/account/demo/checkout/{chk.json()['id']}")
    offers = page.get_by_role("region", name="Goes well with your order")
    expect(offers.locator(".suggestion-name").first).to_be_visible()
    names = offers.locator(".suggestion-name").all_inner_texts()
    assert names[0] == "A5 dotted notebook", names
    screenshot(page, f"account-checkout-suggestions-{size}")
    audit(page, axe_source, browser, size, True)
    offers.get_by_role("button", name="Add A5 dotted notebook").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_contain_text("Added A5 dotted notebook.")
    expect(page.locator("#items")).to_contain_text("A5 dotted notebook")
