"""Issue 15 as a buyer sees it in Chromium, at a phone and a desktop size: from the storefront
through a product page to the thank-you page (pictures, the screens and the fields it takes, the
store's country, the policies accepted beside "Place order", times in the buyer's own zone), what
the thank-you page leads with, a bank transfer in its own words, a payment that is confirming (the
page asks for nothing more), and the way back in from a broken link. axe-core
audits every page."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, audit, new_context, screenshot
from tests.browser.test_buyer_pages import TRACKING, before, must_fill_count
from tests.factories import ADMIN_KEY, DELIVERY

pytestmark = pytest.mark.browser
ZONE = "America/New_York"  # the buyer's zone, far from UTC: its times differ from the server's


def images_shown(page: Page, selector: str) -> list[str]:
    """The sources of the images under `selector` that the browser loaded and drew (the CSP let them)."""
    return list(
        page.evaluate(
            """async (selector) => {
                 const images = [...document.querySelectorAll(selector)];
                 images.forEach(i => { i.loading = "eager"; });
                 await Promise.all(images.map(i => i.decode().catch(() => null)));
                 return images.filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute("src"));
               }""",
            selector,
        )
    )


def fill_the_five(page: Page, email: str) -> None:
    page.locator("#contact-email").fill(email)
    page.locator("#delivery-name").fill(DELIVERY["name"])
    page.locator("#delivery-address-line1").fill(DELIVERY["address_line1"])
    page.locator("#delivery-city").fill(DELIVERY["city"])
    page.locator("#delivery-postal-code").fill(DELIVERY["postal_code"])


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_from_a_product_page_to_the_thank_you_page(
    browser: Browser, live_server: LiveServer, axe_source: str, size: str
) -> None:
    base = live_server.base
    context = new_context(browser, size, js=True, timezone_id=ZONE)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    screens: list[str] = []
    page.on("framenavigated", lambda f: screens.append(f.url.split("#")[0]) if f == page.main_frame else None)

    # The storefront sells with pictures; "Track an order" is on it.
    page.goto(f"{base}/")
    page.wait_for_url(re.compile(r"/s/demo$"))
    screens.clear()  # counted from the storefront
    screens.append(page.url)
    assert len(images_shown(page, ".products img")) == 4
    expect(page.get_by_role("link", name="Track an order").first).to_be_visible()
    header = page.locator(".header-row").bounding_box()
    track = page.locator(".track-link").bounding_box()
    assert header
    assert track
    assert track["height"] < 60, "'Track an order' wraps in the header"  # one line, not three
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]  # type: ignore[index]

    # The product page: its picture, its description, its price; add to cart from there.
    page.get_by_role("link", name="A5 dotted notebook").click()
    page.wait_for_url(re.compile(r"/s/demo/products/NB-A5-DOT$"))
    expect(page.get_by_role("img", name="A5 dotted notebook")).to_be_visible()
    assert images_shown(page, "img.product-image") == ["/static/demo/notebook.svg"]
    expect(page.get_by_text("192 pages of 100 g/m² paper, lay-flat binding.")).to_be_visible()
    expect(page.locator("main").get_by_text("€14.50")).to_be_visible()
    screenshot(page, f"trust-product-{size}")
    audit(page, axe_source)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart")).to_contain_text("A5 dotted notebook")
    assert images_shown(page, "#cart img") == ["/static/demo/notebook.svg"]

    # The checkout: the store's country is chosen, five fields to fill, the statement beside the button.
    page.get_by_role("button", name="Checkout as guest").click()
    page.wait_for_url(re.compile(r"/s/demo/checkout/[A-Za-z0-9_-]{32,}$"))
    expect(page.locator("#contact-email")).to_be_in_viewport()
    expect(page.locator("#delivery-country")).to_have_value("IE")
    assert must_fill_count(page) == 5
    expect(page.locator("input[type=checkbox]")).to_have_count(0)  # no box to tick for the policies
    statement = page.locator("#accept-statement")
    expect(statement).to_have_text(
        re.compile(
            r"By placing this order you accept Terms of sale 2026-01, Privacy notice 2026-01 "
            r"and Returns policy 2025-11\."
        )
    )
    # Placed in the buyer's zone (New York), the UTC time the server wrote kept on hover.
    stamp = page.locator("#items time").first
    expect(stamp).to_have_attribute("title", re.compile(r" UTC$"))
    assert "UTC" not in stamp.inner_text()
    fill_the_five(page, "ada.lovelace@example.com")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    page.wait_for_url(TRACKING)
    assert [re.sub(r"/[A-Za-z0-9_-]{32,}$", "/…", u.removeprefix(base).split("?")[0]) for u in screens] == [
        "/s/demo",
        "/s/demo/products/NB-A5-DOT",
        "/s/demo",
        "/s/demo/checkout/…",
        "/s/demo/orders/…",
    ]

    # The thank-you page leads with the payment, says where the link went, shows no bare token,
    # and offers the tracking link's own QR code on demand.
    expect(page.locator("#pay-title")).to_be_in_viewport()
    assert before(page, "#pay-title", "#save-title")
    expect(page.locator("#save-link-sent")).to_contain_text("We sent this link to a•••@e•••.com")
    token = page.url.rsplit("/", 1)[1]
    assert token not in page.locator("main").inner_text().replace(
        page.locator("#tracking-link").input_value(), ""
    )
    link_qr = page.get_by_role("img", name="QR code of this order's tracking link")
    expect(link_qr).to_be_hidden()
    page.get_by_text("Open this order on another device").click()
    expect(link_qr).to_be_visible()
    placed = page.locator(".order-head time").first
    expect(placed).to_have_attribute("title", re.compile(r" UTC$"))
    with httpx.Client(base_url=base) as api:
        created = api.get(f"/api/v1/stores/demo/orders/{token}").json()["created_at"]
    utc_hour = int(created[11:13])
    shown_hour = int(re.search(r"(\d\d):\d\d", placed.inner_text()).group(1))  # type: ignore[union-attr]
    assert shown_hour in ((utc_hour - 5) % 24, (utc_hour - 4) % 24), placed.inner_text()  # EST or EDT
    screenshot(page, f"trust-thank-you-{size}")
    audit(page, axe_source)

    # What was accepted is recorded with its versions.
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        number = page.locator(".order-number").inner_text()
        order: dict[str, Any] = api.get(f"/api/v1/stores/demo/admin/orders/{number}").json()
    assert sorted(order["accepted_policies"]) == ["privacy@2026-01", "returns@2025-11", "terms@2026-01"]
    assert not blocked, blocked
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_bank_transfer_in_its_own_words(
    browser: Browser, live_server: LiveServer, axe_source: str, size: str
) -> None:
    context = new_context(browser, size, js=True)
    page = context.new_page()
    page.goto(f"{live_server.base}/s/demo")
    page.get_by_role("button", name="Add to cart: Canvas pen case").click()
    page.get_by_role("button", name="Checkout as guest").click()
    page.wait_for_url(re.compile(r"/checkout/"))
    bank = page.get_by_role("radio", name=re.compile("^Bank transfer"))
    expect(page.locator("#pm-manual-hint")).to_have_text(
        "Transfer from your bank within 3 days: the account details and the reference to quote appear "
        "after you place the order."
    )
    fill_the_five(page, "grace@example.com")
    bank.check()
    page.get_by_role("button", name=re.compile("^Place order")).click()
    page.wait_for_url(TRACKING)
    box = page.locator("#order-payment")
    expect(page.locator("#pay-title")).to_have_text("Pay €28.90 by bank transfer")
    expect(box).to_contain_text("within 3 days")
    expect(box).to_contain_text("DE89 3704 0044 0532 0130 00")
    expect(box).to_contain_text(page.locator(".order-number").inner_text())  # the reference to quote
    assert "confirmation" not in box.inner_text().lower()
    expect(page.get_by_role("img", name=re.compile("QR code to pay"))).to_have_count(0)
    details = page.locator("#order-payment dl").bounding_box()
    card = box.bounding_box()
    assert details
    assert card
    assert details["width"] > card["width"] * 0.8  # the details use the box's width (no empty QR column)
    screenshot(page, f"trust-bank-transfer-{size}")
    audit(page, axe_source)
    context.close()


def test_a_confirming_payment_asks_for_nothing_on_the_page(
    browser: Browser, live_server: LiveServer, axe_source: str
) -> None:
    base = live_server.base
    context = new_context(browser, "phone", js=True)
    page = context.new_page()
    page.goto(f"{base}/s/demo")
    page.get_by_role("button", name="Add to cart: Index tab set").click()
    page.get_by_role("button", name="Checkout as guest").click()
    page.wait_for_url(re.compile(r"/checkout/"))
    fill_the_five(page, "hopper@example.com")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    page.wait_for_url(TRACKING)
    token = page.url.rsplit("/", 1)[1]
    with httpx.Client(base_url=base) as api:
        paid = api.post(f"/api/v1/sandbox/stores/demo/orders/{token}/payments", json={"confirmations": 1})
        assert paid.status_code == 201, paid.text
    expect(page.locator("#pay-title")).to_have_text(
        "Payment received, waiting for 1 more confirmation", timeout=20_000
    )
    expect(page.locator(".status-pill")).to_have_text("Payment received, confirming")
    for prompt in ("Time left to pay", "Open in wallet app", "Copy amount", "Copy address"):
        expect(page.get_by_text(prompt)).to_have_count(0)
    screenshot(page, "trust-confirming-phone")
    audit(page, axe_source)
    context.close()
    # The console's order page says it at its top too: tests/orders/test_confirming.py (over HTTP, since
    # the browser tests' console sign-ins already use the 10 a client may make in 5 minutes).


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_broken_link_leads_back_in(
    browser: Browser, live_server: LiveServer, axe_source: str, size: str
) -> None:
    context = new_context(browser, size, js=True)
    page = context.new_page()
    response = page.goto(f"{live_server.base}/s/demo/orders/{'n' * 40}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Order not found")
    expect(page.get_by_label("Email or phone number")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in to see your orders")).to_have_attribute(
        "href", "/account/demo/sign-in"
    )
    # A contact of its own: links are limited to 3 an hour per contact, and other tests ask for Ada's.
    page.get_by_label("Email or phone number").fill(f"lost.link.{size}@example.com")
    page.get_by_role("button", name="Send my order links").click()
    expect(page.get_by_role("status").filter(has_text="Sent.")).to_be_visible()
    audit(page, axe_source)
    context.close()
