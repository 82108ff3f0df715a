"""The buyer's whole journey in Chromium, at a phone and a desktop size, with JavaScript on and off:
storefront, one-page checkout (with a validation error and a resume on a second browser), the
tracking page following the payment, and an expired payment renewed. axe-core audits every page."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser.conftest import (
    LiveServer,
    audit_without_script,
    describe,
    new_context,
    screenshot,
    serious_violations,
)
from tests.factories import DELIVERY

pytestmark = pytest.mark.browser
TRACKING = re.compile(r"/s/(demo|quick)/orders/[A-Za-z0-9_-]{32,}(\?.*)?$")


def audit(page: Page, axe_source: str, browser: Browser, size: str, js: bool) -> None:
    """No serious or critical axe-core findings on the page as the buyer sees it."""
    if js:
        found = serious_violations(page, axe_source)
    else:
        found = audit_without_script(browser, page.url, size, axe_source)
    assert not found, f"accessibility problems on {page.url.split('?')[0]}:\n{describe(found)}"


def must_fill_count(page: Page) -> int:
    """Fields a buyer must fill: each required control still empty (a radio group once, a choice
    already made counts as done), plus "email or phone"."""
    names = page.evaluate(
        """() => [...new Set([...document.querySelectorAll(
              "#checkout input[required], #checkout select[required], #checkout textarea[required]")]
              .filter(el => el.type === "radio"
                ? !document.querySelector(`#checkout input[name="${el.name}"]:checked`) : !el.value)
              .map(el => el.name))]"""
    )
    return len(names) + 1


def before(page: Page, first: str, second: str) -> bool:
    return bool(
        page.evaluate(
            "([a, b]) => !!(document.querySelector(a)"
            "  .compareDocumentPosition(document.querySelector(b)) & Node.DOCUMENT_POSITION_FOLLOWING)",
            [first, second],
        )
    )


def fill_rest(page: Page) -> None:
    page.locator("#contact-email").fill("ada.lovelace@example.com")
    page.locator("#delivery-address-line1").fill(DELIVERY["address_line1"])
    page.locator("#delivery-city").fill(DELIVERY["city"])
    page.locator("#delivery-postal-code").fill(DELIVERY["postal_code"])
    page.locator("#delivery-country").select_option(DELIVERY["country"])


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_guest_journey(
    browser: Browser, live_server: LiveServer, axe_source: str, size: str, js: bool
) -> None:
    tag = f"{size}-{'js' if js else 'nojs'}"
    base = live_server.base
    context = new_context(browser, size, js=js)
    # An ambient account cookie on the site must never travel with the pages' guest API calls.
    context.add_cookies([{"name": "og_account", "value": "ambient-session", "url": base}])
    api_calls: list[Request] = []
    csp_reports: list[str] = []
    context.on("request", lambda r: api_calls.append(r) if "/api/" in r.url else None)
    page = context.new_page()
    page.on("console", lambda m: csp_reports.append(m.text) if "Content Security Policy" in m.text else None)

    # Storefront: products with prices and availability, add to cart, "Checkout as guest".
    page.goto(f"{base}/s/demo")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fieldnotes Supply Co.")
    expect(page.get_by_text("€14.50").first).to_be_visible()
    page.get_by_role("button", name="Add to cart: A5 dotted notebook").click()
    expect(page.locator("#cart")).to_contain_text("A5 dotted notebook")
    page.get_by_role("button", name="Add to cart: Canvas pen case").click()
    expect(page.locator("[data-cart-count]")).to_have_text("2")
    expect(page.locator("#cart")).to_contain_text("€43.40")
    screenshot(page, f"storefront-{tag}")
    audit(page, axe_source, browser, size, js)
    page.get_by_role("button", name="Checkout as guest").click()
    page.wait_for_url(re.compile(r"/s/demo/checkout/[A-Za-z0-9_-]{32,}$"))
    checkout_url = page.url

    # Checkout: the first field is on the first screen; the policies are accepted by the statement
    # beside "Place order"; on a desktop the side column is the order summary.
    expect(page.locator("#contact-email")).to_be_in_viewport()
    assert before(page, "#contact-email", "#delivery-name")
    assert before(page, "#delivery-country", "input[name=payment_method]")
    assert before(page, "input[name=payment_method]", "[data-place-order]")
    assert before(page, "[data-place-order]", "#accept-statement")
    statement = "By placing this order you accept Terms of sale 2026-01"
    expect(page.locator("#accept-statement")).to_contain_text(statement)
    expect(page.locator("#checkout").get_by_role("link", name="Terms of sale")).to_be_visible()
    assert must_fill_count(page) == 5  # email or phone, name, street, town, postcode
    expect(page.get_by_text("Not reserved")).to_be_visible()
    summary = page.locator("#items").bounding_box()
    form = page.locator("#contact").bounding_box()
    assert summary
    assert form
    if size == "desktop":
        assert summary["x"] > form["x"] + form["width"] - 1
        assert summary["y"] < form["y"] + 200
    qr = page.get_by_role("img", name="QR code of the link to continue this checkout")
    expect(qr).to_be_hidden()
    screenshot(page, f"checkout-{tag}")
    page.get_by_text("Continue on another device").click()
    expect(qr).to_be_visible()
    audit(page, axe_source, browser, size, js)

    # A validation error: shown beside its field, announced, and what was typed is kept.
    page.locator("#contact-email").fill("ada@")
    page.locator("#delivery-name").fill(DELIVERY["name"])
    page.get_by_role("button", name=re.compile("^Place order")).click()
    expect(page.locator("#contact-email-error")).to_contain_text("Check the part after @")
    expect(page.locator("#contact-email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#delivery-city-error")).to_contain_text("Enter your town or city")
    expect(page.locator("#contact-email")).to_have_value("ada@")
    expect(page.locator("#delivery-name")).to_have_value(DELIVERY["name"])
    expect(page.get_by_role("alert")).to_contain_text("problems")
    expect(page.locator("[data-error-summary]")).to_be_focused()
    assert page.title().startswith("Error:")
    screenshot(page, f"checkout-error-{tag}")
    if js:
        audit(page, axe_source, browser, size, js)

    # Resume on another device: the same checkout, with what was saved, until it expires.
    resume_url = page.locator("#resume-link").input_value()
    assert resume_url == checkout_url
    other_context = new_context(browser, size, js=js)
    other = other_context.new_page()
    other.goto(resume_url)
    expect(other.locator("#delivery-name")).to_have_value(DELIVERY["name"])
    fill_rest(other)
    other.get_by_role("button", name=re.compile("^Place order")).click()
    other.wait_for_url(TRACKING)
    tracking_url = other.url

    # The tracking page, with its headers.
    response = other.reload()
    assert response is not None
    headers = response.headers
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["x-robots-tag"] == "noindex, nofollow"
    assert "script-src 'self'" in headers["content-security-policy"]
    expect(other.locator('meta[name="robots"]')).to_have_attribute("content", "noindex, nofollow")
    token = tracking_url.rsplit("/", 1)[1]
    with live_server.api() as api:
        order = api.get(f"/api/v1/stores/demo/orders/{token}").json()
    expect(other.locator(".order-number")).to_have_text(order["number"])
    expect(other.locator("#order-token")).to_have_count(0)  # the token is in the link, not apart
    expect(other.locator("#tracking-link")).to_have_value(tracking_url)
    expect(other.locator("#pay-destination")).to_have_text(order["payment"]["destination"])
    expect(other.locator("#pay-amount")).to_have_text(order["payment"]["amount"])
    expect(other.get_by_role("img", name=re.compile("QR code to pay"))).to_be_visible()
    assert before(other, "#pay-title", "#save-title")  # what to do next comes first
    expect(other.locator("#save-link-sent")).to_contain_text("We sent this link to a•••@e•••.com")
    expect(other.get_by_text("0 of 2 required")).to_be_visible()
    expect(other.get_by_role("button", name="Create account")).to_be_visible()
    if js:
        expect(other.locator("[data-countdown]")).to_have_text(re.compile(r"^\d+:\d\d minutes$"))
    screenshot(other, f"tracking-{tag}")
    audit(other, axe_source, browser, size, js)

    # The first device's checkout link no longer leads to the order: it says the order was placed.
    placed = page.goto(checkout_url)
    assert placed is not None
    assert placed.status == 410
    expect(page.get_by_role("heading", name="This order has been placed")).to_be_visible()
    assert tracking_url.rsplit("/", 1)[1] not in page.content()
    # It leads to the lost-link form, which sends the link to the buyer's own contact.
    expect(page.get_by_role("link", name="Send me the tracking link")).to_have_attribute(
        "href", "/s/demo/track"
    )
    page.goto(tracking_url)

    # The payment arrives: with JavaScript the page follows it by itself.
    def pay(confirmations: int) -> None:
        with live_server.api() as api:
            r = api.post(
                f"/api/v1/sandbox/stores/demo/orders/{token}/payments",
                json={"confirmations": confirmations, "reference": f"tx-{token[:8]}"},
            )
            assert r.status_code == 201, r.text
        if not js:
            other.reload()

    pay(1)
    # Paid in full, one confirmation short: said so, and nothing asks to pay again.
    expect(other.locator("#pay-title")).to_have_text(
        "Payment received, waiting for 1 more confirmation", timeout=20_000
    )
    expect(other.get_by_role("img", name=re.compile("QR code to pay"))).to_have_count(0)
    expect(other.locator("[data-countdown]")).to_have_count(0)
    screenshot(other, f"tracking-confirming-{tag}")
    audit(other, axe_source, browser, size, js)
    pay(2)
    expect(other.get_by_role("heading", level=1)).to_have_text("Payment confirmed", timeout=20_000)
    expect(other.locator(".timeline li.reached")).to_have_count(2)
    assert order["payment"]["destination"] not in other.locator("#order-payment").inner_text()
    screenshot(other, f"tracking-paid-{tag}")

    if js:
        # Copying the link puts it on the clipboard.
        other_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        other.get_by_role("button", name="Copy link").click()
        assert other.evaluate("navigator.clipboard.readText()") == tracking_url
        guest_api = [r for r in api_calls if "/api/v1/stores/" in r.url]
        assert guest_api, "the pages made no API call"
        for request in guest_api:
            sent = request.all_headers()
            assert "cookie" not in sent, request.url
            assert "authorization" not in sent, request.url
    else:
        # "Send the link to my own email" answers plainly, whether or not this server sends links yet.
        other.locator("#contact").fill("ada.lovelace@example.com")
        other.get_by_role("button", name="Send link").click()
        expect(other.locator(".notice.success")).to_contain_text(
            re.compile(r"Sent\.|not available in this store yet")
        )
    assert not csp_reports, csp_reports
    other_context.close()
    context.close()


def _place_quick_order(live_server: LiveServer) -> dict[str, Any]:
    """An order in the "quick" store, whose payment window is a few seconds."""
    with live_server.api() as api:
        chk = api.post(
            "/api/v1/stores/quick/checkouts",
            json={
                "items": [{"sku": "NB-A5-DOT", "quantity": 1}],
                "contact": {"email": "grace@example.com"},
                "delivery": DELIVERY,
            },
        ).json()
        store = api.get("/api/v1/stores/quick").json()
        r = api.post(
            f"/api/v1/stores/quick/checkouts/{chk['id']}/orders",
            json={
                "payment_method": "sandbox",
                "accepted_policies": [f"{p['id']}@{p['version']}" for p in store["policies"]],
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_expired_payment_gets_a_new_instruction(
    browser: Browser, live_server: LiveServer, axe_source: str, js: bool
) -> None:
    size = "phone" if js else "desktop"
    tag = f"{size}-{'js' if js else 'nojs'}"
    order = _place_quick_order(live_server)
    old = order["payment"]["destination"]
    context = new_context(browser, size, js=js)
    page = context.new_page()
    page.goto(f"{live_server.base}/s/quick/orders/{order['token']}")
    expect(page.locator("#pay-destination")).to_have_text(old)
    refresh = page.get_by_role("button", name="Get a new payment instruction")
    if js:
        # The countdown runs out and the page fetches the new state by itself.
        expect(refresh).to_be_visible(timeout=30_000)
    else:
        deadline = time.monotonic() + 30
        with live_server.api() as api:
            while api.get(f"/api/v1/stores/quick/orders/{order['token']}").json()["status"] != "expired":
                assert time.monotonic() < deadline, "the payment window never ran out"
                time.sleep(0.5)
        page.reload()
    expect(refresh).to_be_visible()
    expect(page.get_by_text("Do not send a payment to the old details")).to_be_visible()
    assert old not in page.content()
    expect(page.get_by_role("img", name=re.compile("QR code to pay"))).to_have_count(0)
    screenshot(page, f"tracking-expired-{tag}")
    audit(page, axe_source, browser, size, js)

    refresh.click()
    page.wait_for_url(re.compile(r"\?refreshed=1$"))
    expect(page.get_by_text("Here is your new payment instruction")).to_be_visible()
    with httpx.Client(base_url=live_server.base) as api:
        renewed = api.get(f"/api/v1/stores/quick/orders/{order['token']}").json()["payment"]["destination"]
    assert renewed != old
    assert old not in page.content()
    assert renewed in page.content()
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_product_page_and_the_way_back_in(
    browser: Browser, live_server: LiveServer, axe_source: str, size: str
) -> None:
    """The product page, "Track an order" and the not-found page: reachable, no serious axe finding."""
    context = new_context(browser, size, js=True)
    page = context.new_page()
    page.goto(f"{live_server.base}/")
    page.wait_for_url(re.compile(r"/s/demo$"))
    page.get_by_role("link", name="A5 dotted notebook").click()
    page.wait_for_url(re.compile(r"/s/demo/products/NB-A5-DOT$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("A5 dotted notebook")
    expect(page.get_by_text("lay-flat binding")).to_be_visible()
    screenshot(page, f"product-{size}")
    audit(page, axe_source, browser, size, True)
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#cart")).to_contain_text("A5 dotted notebook")

    page.get_by_role("link", name="Track an order").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Track an order")
    expect(page.get_by_role("link", name="Sign in to see your orders")).to_be_visible()
    screenshot(page, f"track-{size}")
    audit(page, axe_source, browser, size, True)

    page.goto(f"{live_server.base}/s/demo/orders/{'x' * 40}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Order not found")
    page.locator("#contact").fill("ada@example")
    page.get_by_role("button", name="Send my order links").click()
    expect(page.locator("#contact-error")).to_contain_text("Check the part after @")
    screenshot(page, f"order-not-found-{size}")
    audit(page, axe_source, browser, size, True)
    context.close()
