"""The console's product pages in Chromium at a phone and a desktop size: create a product (a refused
field first, nothing typed lost), change its stock with a reason, archive it. axe audits each page."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer, describe, new_context, screenshot, serious_violations
from tests.factories import ADMIN_KEY, DELIVERY

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_product_pages(browser: Browser, live_server: LiveServer, axe_source: str, size: str) -> None:
    sku = f"LAMP-{size.upper()}-{uuid.uuid4().hex[:4].upper()}"
    context = new_context(browser, size, js=True)
    page = context.new_page()

    def audit() -> None:
        found = serious_violations(page, axe_source)
        assert not found, f"accessibility problems on {page.url.split('?')[0]}:\n{describe(found)}"

    page.goto(f"{live_server.base}/admin/sign-in")
    page.get_by_label("Operator key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/orders$"))
    page.get_by_role("link", name="Products", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Products")
    screenshot(page, f"admin-products-{size}")
    audit()

    page.get_by_role("link", name="New product").click()
    page.get_by_label("SKU").fill(sku)
    page.get_by_label("Name").fill("Desk lamp")
    page.get_by_label(re.compile(r"^Price")).fill("39.999")
    page.get_by_label("Description (optional)").fill("Brass, with a cloth cord")
    page.get_by_role("button", name="Create product").click()
    expect(page.locator("#product-price-error")).to_be_visible()
    expect(page.get_by_label("Description (optional)")).to_have_value("Brass, with a cloth cord")
    screenshot(page, f"admin-product-new-error-{size}")
    audit()
    page.get_by_label(re.compile(r"^Price")).fill("39.90")
    page.get_by_role("button", name="Create product").click()
    page.wait_for_url(re.compile(rf"/admin/products/{sku}\?done=created$"))
    expect(page.locator(".notice.success")).to_contain_text("Product created")

    page.get_by_label("Set the counted units on hand").check()
    page.get_by_label("Units", exact=True).fill("12")
    page.get_by_label("Reason").fill("first count")
    page.get_by_role("button", name="Change stock").click()
    expect(page.locator(".notice.success")).to_contain_text("Stock changed")
    expect(page.locator(".ledger-table")).to_contain_text("first count")
    screenshot(page, f"admin-product-{size}")
    audit()

    page.get_by_role("button", name=f"Archive {sku}").click()
    expect(page.locator(".notice.success")).to_contain_text("Product archived")
    context.close()


def _paid(live_server: LiveServer) -> dict[str, str]:
    with live_server.api() as api:
        chk = api.post(
            "/api/v1/stores/demo/checkouts",
            json={
                "items": [{"sku": "NB-A5-DOT", "quantity": 2}],
                "contact": {"email": f"refund-{uuid.uuid4().hex[:6]}@example.com"},
                "delivery": DELIVERY,
            },
        ).json()
        store = api.get("/api/v1/stores/demo").json()
        order = api.post(
            f"/api/v1/stores/demo/checkouts/{chk['id']}/orders",
            json={
                "payment_method": "sandbox",
                "accepted_policies": [f"{p['id']}@{p['version']}" for p in store["policies"]],
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ).json()
        api.post(f"/api/v1/sandbox/stores/demo/orders/{order['token']}/payments", json={"confirmations": 2})
        return dict(order)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_home_refund_and_printables(
    browser: Browser, live_server: LiveServer, axe_source: str, size: str
) -> None:
    order = _paid(live_server)
    context = new_context(browser, size, js=True)
    page = context.new_page()

    def audit() -> None:
        found = serious_violations(page, axe_source)
        assert not found, f"accessibility problems on {page.url.split('?')[0]}:\n{describe(found)}"

    page.goto(f"{live_server.base}/admin/sign-in?next=/admin/home")
    page.get_by_label("Operator key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/home$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    screenshot(page, f"admin-home-{size}")
    audit()

    page.goto(f"{live_server.base}/admin/orders/{order['number']}")
    page.locator("summary", has_text="Refund").click()  # opens the form
    page.get_by_label(re.compile(r"^Amount")).fill("999")
    page.get_by_label("Reason (optional)").fill("scratched cover")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator("#refund-amount-error")).to_be_visible()
    expect(page.get_by_label("Reason (optional)")).to_have_value("scratched cover")
    screenshot(page, f"admin-refund-error-{size}")
    audit()
    page.get_by_label(re.compile(r"^Amount")).fill("")
    page.get_by_label(re.compile(r"A5 dotted notebook")).fill("1")
    page.get_by_label("Put the refunded items back on sale").check()
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator(".notice.success")).to_contain_text("Refund made")
    expect(page.locator(".refunds-table")).to_contain_text("back on sale")
    audit()

    page.get_by_role("link", name="Packing slip").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Packing slip")
    screenshot(page, f"admin-packing-slip-{size}")
    audit()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoice")
    audit()
    context.close()
