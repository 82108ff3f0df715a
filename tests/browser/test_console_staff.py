"""Staff in Chromium, at a phone and a desktop size: the owner invites a staff member on the staff
page, the staff member asks for a code on the sign-in page, gets it by email (a real SMTP server)
and signs in with it; the owner reads the audit log. axe-core audits each page."""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, expect
from pydantic import SecretStr

from ordergate.db import make_engine, make_sessionmaker
from ordergate.notifications.delivery import outbox_pass
from ordergate.settings import Settings
from tests.browser.conftest import LiveServer, audit, new_context, screenshot
from tests.factories import ADMIN_KEY
from tests.notifications.servers import SmtpTestServer

pytestmark = pytest.mark.browser


def deliver_mail(live_server: LiveServer, smtp: SmtpTestServer) -> None:
    """What the worker does beside the server: send the outbox (here, to the test SMTP server)."""
    url = f"sqlite+aiosqlite:///{live_server.log.parent / 'pages.db'}"
    settings = Settings(
        database_url=url,
        demo=True,
        sandbox=True,
        base_url=live_server.base,
        var_dir=live_server.log.parent / "var",  # the server's sealing key is kept there
        smtp_url=SecretStr(f"smtp://127.0.0.1:{smtp.port}"),
    )

    async def run() -> None:
        engine = make_engine(settings)
        try:
            await outbox_pass(make_sessionmaker(engine), settings)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright holds this thread's event loop
        pool.submit(asyncio.run, run()).result()


def last_code(smtp: SmtpTestServer, to: str, *, after: int = 0) -> str:
    """The code in the last mail to `to` among those received after the first `after` mails."""
    mails = [m for m in smtp.received[after:] if m.recipients == [to]]
    assert mails, f"no mail to {to}"
    found = re.search(r"^\s+(\d{6})\s*$", mails[-1].part("plain"), re.M)
    assert found
    return found.group(1)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_staff_sign_in_by_emailed_code(
    browser: Browser, live_server: LiveServer, axe_source: str, size: str
) -> None:
    email = f"staff-{size}-{uuid.uuid4().hex[:6]}@shop.example"
    with SmtpTestServer() as smtp:
        owner = new_context(browser, size, js=True).new_page()
        owner.goto(f"{live_server.base}/admin/sign-in")
        owner.get_by_label("Operator key").fill(ADMIN_KEY)
        owner.get_by_role("button", name="Sign in").click()
        owner.wait_for_url(re.compile(r"/admin/orders$"))

        # The owner's staff page: a wrong address is named by its field and kept.
        owner.goto(f"{live_server.base}/admin/staff")
        expect(owner.get_by_role("heading", level=1)).to_have_text("Staff")
        audit(owner, axe_source)
        owner.get_by_label("Email address").fill("not an address")
        owner.get_by_label("Refund limit (EUR)").fill("20.00")
        owner.get_by_role("button", name="Invite").click()
        expect(owner.locator("#invite-email-error")).to_contain_text("Enter an email address")
        expect(owner.get_by_label("Refund limit (EUR)")).to_have_value("20.00")
        audit(owner, axe_source)
        owner.get_by_label("Email address").fill(email)
        owner.get_by_role("button", name="Invite").click()
        expect(owner.locator(".notice.success")).to_contain_text("Invited")
        expect(owner.get_by_role("table")).to_contain_text(email)
        screenshot(owner, f"admin-staff-{size}")
        # The invitation's own code goes out now: the outbox sends in no set order, so the sign-in
        # code below must not be told from it by arrival alone.
        deliver_mail(live_server, smtp)
        invited = len(smtp.received)

        # The staff member, in another browser: store and email, then the code from the email.
        staff = new_context(browser, size, js=True).new_page()
        staff.goto(f"{live_server.base}/admin/sign-in")
        audit(staff, axe_source)
        staff.get_by_label("Store").fill("demo")
        staff.get_by_label("Email address").fill(email)
        staff.get_by_role("button", name="Email me a code").click()
        staff.wait_for_url(re.compile(r"/admin/sign-in/code/"))
        expect(staff.get_by_role("heading", level=1)).to_have_text("Enter your sign-in code")
        audit(staff, axe_source)
        deliver_mail(live_server, smtp)
        code = last_code(smtp, email, after=invited)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        staff.get_by_label("Code", exact=True).fill(wrong)
        staff.get_by_role("button", name="Sign in").click()
        expect(staff.locator("#code-error")).to_contain_text("That code is not right")
        audit(staff, axe_source)
        staff.get_by_label("Code", exact=True).fill(code)
        staff.get_by_role("button", name="Sign in").click()
        staff.wait_for_url(re.compile(r"/admin/orders$"))
        expect(staff.locator("footer")).to_contain_text(f"as {email} (staff)")
        expect(staff.get_by_role("navigation", name="Console sections")).not_to_contain_text("Audit log")
        screenshot(staff, f"admin-staff-signed-in-{size}")
        # Their own page: who they are, their refund limit, their passkeys.
        staff.get_by_role("link", name="Your sign-in and passkeys").click()
        expect(staff.get_by_role("heading", level=1)).to_have_text("You")
        expect(staff.locator("main")).to_contain_text("refund limit 20.00 EUR")
        expect(staff.get_by_role("button", name="Add a passkey")).to_be_visible()  # shown where WebAuthn is
        audit(staff, axe_source)
        screenshot(staff, f"admin-me-{size}")

        # The owner sees it all in the audit log.
        owner.goto(f"{live_server.base}/admin/audit?action=staff")
        expect(owner.get_by_role("table")).to_contain_text(email)
        expect(owner.get_by_role("table")).to_contain_text("staff.invite")
        audit(owner, axe_source)
        screenshot(owner, f"admin-audit-{size}")
