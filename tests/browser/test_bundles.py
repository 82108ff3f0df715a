"""Bundles in Chromium at a phone and a desktop size: the operator proposes bundles from sales in the
console, is refused a percent out of range (nothing typed lost), approves at 10 %; a guest's checkout
page then offers the pen with its saving and, once added, shows the discount line and the lower
total. axe-core audits every page. Each size gets its own server over a database with a history."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, expect

from ordergate.db import migrate
from tests.browser.conftest import LiveServer, new_context, screenshot, serve_app
from tests.browser.test_buyer_pages import audit
from tests.browser.test_suggestions import _history
from tests.factories import ADMIN_KEY

pytestmark = pytest.mark.browser
PEN_NAME = "Fine liner, black (3-pack)"


@pytest.fixture
def bundle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("bundles")
    url = f"sqlite+aiosqlite:///{workdir / 'pages.db'}"
    with ThreadPoolExecutor(max_workers=1) as pool:  # outside any running event loop
        pool.submit(migrate, url).result()
        pool.submit(asyncio.run, _history(url, workdir / "var")).result()
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
        yield LiveServer(base, log)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_operator_approves_a_bundle_and_the_buyer_sees_the_saving(
    browser: Browser, bundle_server: LiveServer, axe_source: str, size: str
) -> None:
    base = bundle_server.base
    console = new_context(browser, size, js=True).new_page()
    console.goto(f"{base}/admin/sign-in")
    console.get_by_label("Operator key").fill(ADMIN_KEY)
    console.get_by_role("button", name="Sign in").click()
    console.wait_for_url(re.compile(r"/admin/orders$"))
    console.get_by_role("link", name="Bundles", exact=True).click()
    expect(console.get_by_role("heading", level=1)).to_have_text("Bundles")
    expect(console.locator("main")).to_contain_text("No proposals waiting")
    audit(console, axe_source, browser, size, True)

    console.get_by_label("Bought together in at least this many orders").fill("3")
    console.get_by_role("button", name="Propose bundles").click()
    expect(console.locator(".notice.success")).to_contain_text("New proposals")
    proposal = console.locator(".bundle").filter(has_text=f"A5 dotted notebook with {PEN_NAME}")
    expect(proposal).to_contain_text("bought together in 3 orders")
    percent = proposal.get_by_label(f"Percent off {PEN_NAME}")
    percent.fill("95")
    proposal.get_by_role("button", name=re.compile("^Approve")).click()
    expect(console.locator(".field-error:not([hidden])")).to_contain_text("from 1 to 90")
    refused = console.locator(".bundle").filter(has_text=f"A5 dotted notebook with {PEN_NAME}")
    expect(refused.get_by_label(f"Percent off {PEN_NAME}")).to_have_value("95")
    screenshot(console, f"admin-bundles-error-{size}")
    audit(console, axe_source, browser, size, True)
    refused.get_by_label(f"Percent off {PEN_NAME}").fill("10")
    refused.get_by_role("button", name=re.compile("^Approve")).click()
    expect(console.locator(".notice.success")).to_contain_text("Bundle approved")
    offered = console.get_by_role("region", name=re.compile("Offered to every buyer"))
    expect(offered).to_contain_text(f"10 % off {PEN_NAME}")
    expect(offered).to_contain_text("Saves €0.79")
    screenshot(console, f"admin-bundles-{size}")
    audit(console, axe_source, browser, size, True)

    page = new_context(browser, size, js=True).new_page()
    page.goto(f"{base}/s/demo")
    page.get_by_role("button", name="Add to cart: A5 dotted notebook").click()
    expect(page.locator("#cart")).to_contain_text("A5 dotted notebook")
    page.get_by_role("button", name="Checkout as guest").click()
    page.wait_for_url(re.compile(r"/s/demo/checkout/[A-Za-z0-9_-]{32,}$"))
    offers = page.get_by_role("region", name="Goes well with your order")
    expect(offers.locator(".suggestion-name").first).to_have_text(PEN_NAME)
    expect(offers).to_contain_text(f"Add {PEN_NAME}: save 10 % with your A5 dotted notebook")
    expect(offers).to_contain_text("You save €0.79")
    expect(page.locator(".grand dd")).to_have_text("€19.40")
    audit(page, axe_source, browser, size, True)
    offers.get_by_role("button", name=f"Add {PEN_NAME}").click()
    expect(page.get_by_role("status").filter(has_text="Added")).to_contain_text("Your new total is €26.51.")
    expect(page.locator(".totals .discount")).to_contain_text(f"10 % off {PEN_NAME}")
    expect(page.locator(".totals .discount dd")).to_have_text("\u2212€0.79")  # a minus sign
    expect(page.locator(".grand dd")).to_have_text("€26.51")
    expect(page.locator(".offer").filter(has_text="You save")).to_have_text("You save €0.79 with a bundle.")
    screenshot(page, f"checkout-bundle-{size}")
    audit(page, axe_source, browser, size, True)
