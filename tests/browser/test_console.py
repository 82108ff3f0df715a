"""The operator console in Chromium, at a phone and a desktop size: sign in with the key, filter
the orders, open one, record its shipment, and read the funnel chart. axe-core audits each page."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer, audit, new_context, screenshot
from tests.factories import ADMIN_KEY, DELIVERY

pytestmark = pytest.mark.browser


def _paid_order(live_server: LiveServer, email: str) -> dict[str, Any]:
    with live_server.api() as api:
        chk = api.post(
            "/api/v1/stores/demo/checkouts",
            json={
                "items": [{"sku": "NB-A5-DOT", "quantity": 2}],
                "contact": {"email": email},
                "delivery": DELIVERY,
            },
        ).json()
        store = api.get("/api/v1/stores/demo").json()
        r = api.post(
            f"/api/v1/stores/demo/checkouts/{chk['id']}/orders",
            json={
                "payment_method": "sandbox",
                "accepted_policies": [f"{p['id']}@{p['version']}" for p in store["policies"]],
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        order = dict(r.json())
        paid = api.post(
            f"/api/v1/sandbox/stores/demo/orders/{order['token']}/payments", json={"confirmations": 2}
        )
        assert paid.status_code == 201, paid.text
        return order


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_operator_console(browser: Browser, live_server: LiveServer, axe_source: str, size: str) -> None:
    email = f"console-{size}-{uuid.uuid4().hex[:6]}@example.com"
    order = _paid_order(live_server, email)
    _paid_order(live_server, f"other-{uuid.uuid4().hex[:6]}@example.com")
    context = new_context(browser, size, js=True)
    csp_reports: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: csp_reports.append(m.text) if "Content Security Policy" in m.text else None)

    # Signing in: the console asks for the key, and keeps only a session cookie.
    page.goto(f"{live_server.base}/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the operator console")
    screenshot(page, f"admin-sign-in-{size}")
    audit(page, axe_source)
    page.get_by_label("Operator key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/orders$"))
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["og_admin"]["httpOnly"]
    assert cookies["og_admin"]["sameSite"] == "Strict"
    assert cookies["og_admin"]["path"] == "/admin"
    assert ADMIN_KEY not in str(cookies)

    # Filtering: paid orders, then the buyer's email.
    page.get_by_label("Status").select_option("funded")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name=order["number"])).to_be_visible()
    page.get_by_label("Search by order number, email or phone").fill(email)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".order-link")).to_have_count(1)
    expect(page.get_by_text("1 order matches")).to_be_visible()
    screenshot(page, f"admin-orders-{size}")
    audit(page, axe_source)

    # The order: its timeline and what can be done; record the shipment with evidence.
    page.get_by_role("link", name=order["number"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(order["number"])
    expect(page.locator("#timeline")).to_contain_text("Payment received")
    expect(page.locator("#messages")).to_contain_text("Order confirmation")
    audit(page, axe_source)
    page.get_by_role("button", name="Record shipment").click()  # empty: refused beside the fields
    expect(page.locator("#shipment-carrier-error")).to_have_text(re.compile("Enter the carrier"))
    expect(page.locator("[data-error-summary]")).to_be_focused()
    page.get_by_label("Carrier").fill("An Post")
    page.get_by_label("Tracking number").fill("CX123456789IE")
    page.get_by_label("Evidence").fill("Counter receipt 0042, handed in at 10:14")
    page.get_by_role("button", name="Record shipment").click()
    expect(page.get_by_role("status").filter(has_text="Shipment recorded")).to_be_visible()
    expect(page.locator(".order-head .status-pill")).to_have_text("Shipped")
    expect(page.get_by_role("button", name="Complete the order")).to_be_visible()
    screenshot(page, f"admin-order-{size}")
    audit(page, axe_source)
    with live_server.api() as api:
        tracked = api.get(f"/api/v1/stores/demo/orders/{order['token']}").json()
    assert tracked["status"] == "shipped"
    assert tracked["shipments"][0]["tracking_number"] == "CX123456789IE"

    # The funnel, drawn on the server, with its numbers beside it.
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Report").click()
    chart = page.get_by_role("img", name="Checkout funnel, guest and account buyers")
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar-guest").count() >= 4
    expect(page.get_by_role("table")).to_contain_text("Order created")
    screenshot(page, f"admin-report-{size}")
    audit(page, axe_source)

    if size == "desktop":  # the other sections pass the same audit
        for section in ("Payments", "Messages", "Intake", "API keys"):
            page.get_by_role("navigation", name="Console sections").get_by_role("link", name=section).click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            audit(page, axe_source)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/admin/sign-in\?signed_out=1$"))
    page.goto(f"{live_server.base}/admin/orders")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the operator console")
    assert not csp_reports, csp_reports
    context.close()
