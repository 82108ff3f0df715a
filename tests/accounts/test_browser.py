"""The account journey in Chromium with its virtual authenticator (CDP WebAuthn): "Create account"
on the tracking page, the code filled in from the message's link, a passkey added, then signing
in again with the passkey alone. Served by a real uvicorn on http://localhost (a secure context)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from ordergate.db import make_engine, make_sessionmaker, migrate
from ordergate.notifications.sealing import unseal
from ordergate.notifications.service import secret_context
from ordergate.settings import Settings
from tests.browser.conftest import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    describe,
    screenshot,
    serious_violations,
    serve_app,
)
from tests.factories import DELIVERY, load_demo_store

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret-key-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("accounts-browser")
    db = workdir / "accounts.db"
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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's Chromium is missing: run `make browser-deps`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def place_order(base: str, email: str) -> str:
    api = f"{base.replace('localhost', '127.0.0.1')}/api/v1/stores/demo"
    with httpx.Client(timeout=30) as c:
        store = c.get(api).json()
        checkout = c.post(
            f"{api}/checkouts",
            json={
                "items": [{"sku": "NB-A5-DOT", "quantity": 2}],
                "contact": {"email": email},
                "delivery": DELIVERY,
            },
        ).json()
        r = c.post(
            f"{api}/checkouts/{checkout['id']}/orders",
            json={
                "payment_method": "sandbox",
                "accepted_policies": [f"{p['id']}@{p['version']}" for p in store["policies"]],
            },
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def test_account_with_a_passkey_in_chromium(server: Server, browser: Browser) -> None:
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    token = place_order(server.base, email)
    context = browser.new_context(locale="en-IE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
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
    try:
        # The thank-you page's "Create account": a code goes to the order's email.
        page.goto(f"{server.base}/s/demo/orders/{token}")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
        verify_url = page.url
        screenshot(page, "account-verify")
        # The message's link carries the code after "#": the page fills it in, the buyer presses.
        page.goto(f"{verify_url}#code={server.code_for(email)}")
        expect(page.locator("#code")).to_have_value(server.code_for(email))
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("You are signed in.")).to_be_visible()
        expect(page.locator("[data-order]")).to_have_count(1)
        cookie = next(c for c in context.cookies() if c["name"] == "og_account")
        assert cookie["httpOnly"]
        assert cookie["sameSite"] == "Lax"

        # A passkey, made by Chromium's virtual authenticator through the page's own script.
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_text("Passkey added.")).to_be_visible()
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
        assert len(credentials["credentials"]) == 1
        assert credentials["credentials"][0]["isResidentCredential"]
        screenshot(page, "account-home")
        assert AXE.exists()
        found = serious_violations(page, AXE.read_text())
        assert not found, describe(found)

        # Signed out, then back in with the passkey alone: no password, no code.
        page.get_by_role("button", name="Sign out", exact=True).click()
        expect(page.get_by_text("You are signed out.")).to_be_visible()
        screenshot(page, "account-sign-in")
        codes_before = server.code_for(email)
        page.get_by_role("button", name="Sign in with a passkey").click()
        expect(page.get_by_text("You are signed in.")).to_be_visible()
        expect(page.locator("[data-order]")).to_have_count(1)
        assert server.code_for(email) == codes_before  # no new code was sent
        screenshot(page, "account-passkey-sign-in")

        # Reorder: the account's checkout, prefilled from the past order, placed in one press.
        page.get_by_role("button", name="Reorder").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Checkout")
        expect(page.locator("#delivery-city")).to_have_value(DELIVERY["city"])
        page.get_by_label("Sandbox").check()
        page.locator("#accept-policies").check()
        screenshot(page, "account-checkout")
        page.get_by_role("button", name=re.compile("Place order")).click()
        expect(page).to_have_url(re.compile(r"/s/demo/orders/[A-Za-z0-9_-]{32,}$"))
        page.goto(f"{server.base}/account/demo")
        expect(page.locator("[data-order]")).to_have_count(2)
    finally:
        context.close()
