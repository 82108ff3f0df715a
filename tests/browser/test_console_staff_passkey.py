"""A staff member's passkey in Chromium with its virtual authenticator (CDP WebAuthn): signed in
by emailed code, they add a passkey on their own page, sign out, and sign in again with the passkey
alone ("Use a passkey"). Served by a real uvicorn on http://localhost (a secure context)."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from ordergate.db import make_engine, make_sessionmaker, migrate
from ordergate.notifications.sealing import unseal
from ordergate.notifications.service import secret_context
from ordergate.settings import Settings
from tests.browser.conftest import (
    _free_port,
    describe,
    new_context,
    screenshot,
    serious_violations,
    serve_app,
)
from tests.factories import ADMIN_KEY, load_demo_store

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret-key-staff-passkey-0123456789"


class Server:
    def __init__(self, base: str, db: Path, var: Path):
        self.base, self.db, self.var = base, db, var

    def code_for(self, recipient: str) -> str:
        """The latest code sealed in the outbox for `recipient`, opened as the worker would."""
        with sqlite3.connect(self.db) as conn:
            row = conn.execute(
                "select sealed, dedupe_key from outbox_messages where kind = 'verification_code'"
                " and recipient = ? order by id desc limit 1",
                (recipient,),
            ).fetchone()
        assert row is not None, f"no code went to {recipient}"
        settings = Settings(demo=True, secret_key=SECRET, var_dir=self.var)
        return unseal(settings, row[0], context=secret_context(row[1]))


def _prepare(url: str) -> None:
    migrate(url)

    async def load() -> None:
        engine = make_engine(Settings(database_url=url, demo=True, sandbox=True))
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await load_demo_store(session)
        finally:
            await engine.dispose()

    asyncio.run(load())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("staff-passkey")
    db = workdir / "staff.db"
    url = f"sqlite+aiosqlite:///{db}"
    with ThreadPoolExecutor(max_workers=1) as pool:  # outside any running event loop
        pool.submit(_prepare, url).result()
    port = _free_port()
    base = f"http://localhost:{port}"  # WebAuthn needs a secure context: localhost is one
    env = {
        **os.environ,
        "ORDERGATE_DATABASE_URL": url,
        "ORDERGATE_BASE_URL": base,
        "ORDERGATE_SANDBOX": "1",
        "ORDERGATE_DEMO": "1",
        "ORDERGATE_SECRET_KEY": SECRET,
        "ORDERGATE_VAR_DIR": str(workdir / "var"),
        "ORDERGATE_LOG_LEVEL": "warning",
    }
    with serve_app(port, env, workdir):
        yield Server(base, db, workdir / "var")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_staff_passkey_in_chromium(server: Server, browser: Browser, size: str) -> None:
    email = f"grace-{size}-{uuid.uuid4().hex[:6]}@shop.example"
    owner = new_context(browser, size, js=True).new_page()
    owner.goto(f"{server.base}/admin/sign-in")
    owner.get_by_label("Operator key").fill(ADMIN_KEY)
    owner.get_by_role("button", name="Sign in", exact=True).click()
    owner.wait_for_url(re.compile(r"/admin/orders$"))
    owner.goto(f"{server.base}/admin/staff")
    owner.get_by_label("Email address").fill(email)
    owner.get_by_role("button", name="Invite").click()
    expect(owner.locator(".notice.success")).to_contain_text("Invited")

    context = new_context(browser, size, js=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    # The invitation's link carries the code after "#": the page fills it in, they press.
    page.goto(f"{server.base}/admin/sign-in")
    page.get_by_label("Store").fill("demo")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a code").click()
    page.wait_for_url(re.compile(r"/admin/sign-in/code/"))
    page.goto(f"{page.url.split('?')[0]}#code={server.code_for(email)}")
    expect(page.get_by_label("Code", exact=True)).to_have_value(server.code_for(email))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/orders$"))

    page.goto(f"{server.base}/admin/me")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Passkey added")).to_be_visible()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
    assert len(credentials["credentials"]) == 1
    assert credentials["credentials"][0]["isResidentCredential"]
    found = serious_violations(
        page, (Path(__file__).parents[2] / "node_modules/axe-core/axe.min.js").read_text()
    )
    assert not found, describe(found)
    screenshot(page, f"admin-me-passkey-{size}")

    # Signed out, then in again with the passkey alone: no code sent.
    codes_before = server.code_for(email)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(re.compile(r"/admin/orders$"))
    expect(page.locator("footer")).to_contain_text(f"as {email} (staff)")
    assert server.code_for(email) == codes_before
    screenshot(page, f"admin-passkey-signed-in-{size}")
