"""A card order's page in Chromium: the Payment Element's box under the page's own CSP. Stripe.js
cannot load here (no internet; the test also blocks js.stripe.com), so the page must say clearly
that the card form did not load; without JavaScript it says card payment needs JavaScript. No CSP
violation may come from our own assets (card.js, app.js, app.css)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Browser, Response, Route, expect

from ordergate.db import migrate
from ordergate.settings import Settings
from tests.browser.conftest import audit, new_context, screenshot
from tests.factories import Buyer
from tests.payments.helpers import demo_and_card_shop
from tests.payments.servers import ServerThread, Stripe
from tests.served import serve


@pytest.fixture(scope="module")
def card_order(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Stripe]]:
    """(order page URL, the fake Stripe) of a card order on a served store."""
    stripe = Stripe()
    thread = ServerThread(stripe.app()).start()
    stripe.url = thread.url
    workdir = tmp_path_factory.mktemp("card")
    url = f"sqlite+aiosqlite:///{workdir / 'card.db'}"

    async def place(base: str) -> str:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            order = await Buyer(client, store="shop").order(method="card")
            return str(order["token"])

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # outside Playwright's event loop
            pool.submit(migrate, url).result()
            settings = Settings(database_url=url, demo=True, var_dir=workdir / "var")
            pool.submit(asyncio.run, demo_and_card_shop(settings, stripe)).result()
        with serve(url, workdir) as served:
            with ThreadPoolExecutor(max_workers=1) as pool:
                token = pool.submit(asyncio.run, place(served.base)).result()
            yield f"{served.base}/s/shop/orders/{token}", stripe
    finally:
        thread.stop()
        thread.join()


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_card_page_without_stripe_js_says_so(
    browser: Browser, card_order: tuple[str, Stripe], axe_source: str, js: bool, size: str
) -> None:
    page_url, stripe = card_order
    context = new_context(browser, size, js=js)
    blocked: list[str] = []

    def no_stripe(route: Route) -> None:
        blocked.append(route.request.url)
        route.abort()

    context.route("https://js.stripe.com/**", no_stripe)
    page = context.new_page()
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    own: list[Response] = []
    page.on("response", lambda r: own.append(r) if "/static/" in r.url else None)
    response = page.goto(page_url)
    assert response is not None
    assert "https://js.stripe.com" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Pay €19.40 by card on this page")).to_be_visible()
    [intent] = stripe.intents.values()  # opened when the page was first shown
    assert page.locator("[data-card-form]").get_attribute("data-client-secret") == intent["client_secret"]
    if js:
        expect(page.get_by_role("alert").filter(has_text="The card form could not be loaded")).to_be_visible()
        expect(page.get_by_text("Card payment needs JavaScript")).to_be_hidden()
        expect(page.get_by_role("button", name="Pay €19.40")).to_be_disabled()
        assert blocked == ["https://js.stripe.com/v3/"]
        assert any("/static/card.js" in r.url and r.status == 200 for r in own)
    else:
        expect(page.get_by_text("Card payment needs JavaScript")).to_be_visible()
        expect(page.get_by_role("button", name="Pay €19.40")).to_be_hidden()
    assert all(r.status == 200 for r in own), [(r.url, r.status) for r in own]
    assert not csp, csp
    screenshot(page, f"card-page-{'js' if js else 'nojs'}-{size}")
    if js:
        audit(page, axe_source)
    context.close()
