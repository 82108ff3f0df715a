"""The console's settings page in Chromium at a phone and a desktop size: refused changes show their
error beside the field with what was typed kept; guest checkout turned off (buyers read the note)
and on again. axe audits the page as it is and with errors. Everything changed is put back: the
live server is shared with the other browser tests."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import LiveServer, describe, new_context, screenshot, serious_violations
from tests.factories import ADMIN_KEY

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_settings_page(browser: Browser, live_server: LiveServer, axe_source: str, size: str) -> None:
    context = new_context(browser, size, js=True)
    page = context.new_page()

    def audit() -> None:
        found = serious_violations(page, axe_source)
        assert not found, f"accessibility problems on {page.url.split('?')[0]}:\n{describe(found)}"

    page.goto(f"{live_server.base}/admin/sign-in?next=/admin/settings")
    page.get_by_label("Operator key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/settings$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    expect(page.get_by_role("link", name="Settings", exact=True)).to_have_attribute("aria-current", "page")
    screenshot(page, f"admin-settings-{size}")
    audit()

    # A refused loyalty rule: the error beside the field, the typed value kept.
    page.get_by_label(re.compile(r"^Points per")).fill("lots")
    page.get_by_role("button", name="Save loyalty rule").click()
    expect(page.locator("#loyalty-points-error")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Points per"))).to_have_value("lots")
    expect(page.get_by_label(re.compile(r"^Points per"))).to_have_attribute("aria-invalid", "true")
    screenshot(page, f"admin-settings-error-{size}")
    audit()

    # A policy without a title: refused, its text kept.
    terms_text = page.locator("#policy-terms-summary")
    terms_text.fill("Typed text that must survive")
    page.locator("#policy-terms-title").fill("")
    page.get_by_role("button", name=re.compile(r"^Publish new version of Terms")).click()
    expect(page.locator("#policy-terms-title-error")).to_be_visible()
    expect(page.locator("#policy-terms-summary")).to_have_value("Typed text that must survive")

    # A new version of the returns policy (same wording, so other tests' pages read the same):
    # the earlier one stays readable, marked as earlier, from the list under the form.
    page.goto(f"{live_server.base}/admin/settings")
    page.locator("#policy-returns-version").fill(f"b-{size}")
    page.get_by_role("button", name="Publish new version of Returns policy").click()
    expect(page.locator(".notice.success")).to_contain_text("New policy version published")
    expect(page.locator("#policy-returns-heading")).to_contain_text(f"version b-{size}")
    page.locator("#policy-returns-heading").locator("xpath=..").locator("summary").click()
    page.locator("#policy-returns-heading").locator("xpath=..").locator(".versions a").first.click()
    expect(page.locator(".policy .notice.warning")).to_contain_text(f"The version in force now is b-{size}")
    screenshot(page, f"policy-earlier-version-{size}")
    audit()

    # Turning off every payment method: refused beside the last one.
    page.goto(f"{live_server.base}/admin/settings")
    for box in page.locator("input[name^='method-']").all():
        box.uncheck()
    page.get_by_role("button", name="Save payment methods").click()
    expect(page.locator(".field-error:not([hidden])").first).to_contain_text("last payment method")
    audit()

    # Guest checkout off with a note: buyers read it; then on again.
    page.goto(f"{live_server.base}/admin/settings")
    page.get_by_label("Buyers can check out as guests").uncheck()
    page.get_by_label(re.compile(r"^What buyers read")).fill(f"Closed for stocktake ({size})")
    page.get_by_role("button", name="Save guest checkout").click()
    expect(page.locator(".notice.success")).to_contain_text("Guest checkout saved")
    shop = context.new_page()
    shop.goto(f"{live_server.base}/s/demo")
    expect(shop.locator("#guest-unavailable")).to_have_text(f"Closed for stocktake ({size})")
    page.get_by_label("Buyers can check out as guests").check()
    page.get_by_label(re.compile(r"^What buyers read")).fill("")
    page.get_by_role("button", name="Save guest checkout").click()
    expect(page.locator(".notice.success")).to_contain_text("Guest checkout saved")
    shop.reload()
    expect(shop.get_by_role("button", name="Checkout as guest")).to_have_count(0)  # empty cart: no button
    expect(shop.locator("#guest-unavailable")).to_have_count(0)
    context.close()
