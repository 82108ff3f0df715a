"""The account pages: from the tracking page's "Create account" to the account, reorder, sign out."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from ordergate.orders.models import Order
from ordergate.settings import Settings
from tests.accounts.helpers import email, last_code, order_for, wrong
from tests.factories import ADMIN_KEY, Buyer
from tests.test_pages import csrf_of

ACSRF = re.compile(r'name="acsrf" value="([^"]+)"')


def acsrf(html: str) -> str:
    found = ACSRF.search(html)
    assert found, "no account CSRF field on the page"
    return found.group(1)


async def sign_in_from_order(
    client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, address: str
) -> dict[str, str]:
    order = await order_for(client, address)
    tracking = await client.get(f"/s/demo/orders/{order['token']}")
    assert f'action="/account/demo/claim/{order["token"]}"' in tracking.text
    r = await client.post(f"/account/demo/claim/{order['token']}")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/demo/verify/")
    verify = r.headers["location"]
    page = await client.get(verify)
    assert page.status_code == 200
    assert "Enter your code" in page.text
    code = await last_code(maker, settings, address)
    r = await client.post(verify, data={"acsrf": acsrf(page.text), "code": code})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/account/demo?welcome=1", r.text
    assert "og_account=" in r.headers["set-cookie"]
    return order


async def test_create_account_from_the_tracking_page(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    earlier = await order_for(client, ada)
    order = await sign_in_from_order(client, sessionmaker, settings, ada)
    home = await client.get("/account/demo?welcome=1")
    assert home.status_code == 200
    assert "You are signed in" in home.text
    assert order["number"] in home.text
    assert earlier["number"] in home.text
    assert f"/s/demo/orders/{order['token']}" in home.text  # the tracking link
    assert "Reorder" in home.text
    assert "Sign out everywhere" in home.text
    assert home.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in home.headers["content-security-policy"]
    # The account pages never overwrite the storefront's CSRF cookie (scoped to /s/).
    assert "og_csrf=" not in home.headers.get("set-cookie", "")


async def test_an_order_paid_in_full_and_confirming_is_not_listed_as_awaiting_payment(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await sign_in_from_order(client, sessionmaker, settings, ada)
    unpaid = await order_for(client, ada)
    await Buyer(client).pay(order["token"], confirmations=1)
    home = (await client.get("/account/demo")).text
    listed = {
        number: re.sub(r"<[^>]+>", "", label)
        for number, label in re.findall(
            r'data-order="([^"]+)">.*?<span class="status-pill[^"]*">(.*?)</span>', home, re.S
        )
    }
    assert listed == {order["number"]: "Payment received, confirming", unpaid["number"]: "Awaiting payment"}


async def test_opening_the_verify_link_spends_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await order_for(client, ada)
    r = await client.post(f"/api/v1/stores/demo/orders/{order['token']}/account")
    verify = r.json()["verify_url"].removeprefix("http://test")
    code = await last_code(sessionmaker, settings, ada)
    scanner = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with scanner:
        for _ in range(3):
            assert (await scanner.get(verify)).status_code == 200
            assert (await scanner.get(f"{verify}?code={code}")).status_code == 200
        # A POST without the page's own token does nothing either.
        r = await scanner.post(verify, data={"code": code})
        assert r.status_code == 403
        assert "og_account" not in r.headers.get("set-cookie", "")
    page = await client.get(verify)
    r = await client.post(verify, data={"acsrf": acsrf(page.text), "code": wrong(code)})
    assert r.status_code == 422
    assert "That code is not right" in r.text
    r = await client.post(verify, data={"acsrf": acsrf(page.text), "code": code})
    assert r.status_code == 303
    assert r.headers["location"] == "/account/demo?welcome=1"


async def test_sign_in_with_a_code_reorder_and_sign_out(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    first = await order_for(client, ada, quantity=2)
    assert (await client.get("/account/demo")).headers["location"] == "/account/demo/sign-in"
    page = await client.get("/account/demo/sign-in")
    assert "Sign in with a passkey" in page.text
    r = await client.post("/account/demo/sign-in", data={"acsrf": acsrf(page.text), "contact": ada})
    assert r.status_code == 303
    verify = r.headers["location"]
    page = await client.get(verify)
    r = await client.post(
        verify, data={"acsrf": acsrf(page.text), "code": await last_code(sessionmaker, settings, ada)}
    )
    assert r.status_code == 303
    home = await client.get("/account/demo")
    assert first["number"] in home.text

    # Reorder: a checkout of the account with the same items and address, then one press.
    r = await client.post(f"/account/demo/orders/{first['number']}/reorder", data={"acsrf": acsrf(home.text)})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/demo/checkout/")
    checkout = await client.get(r.headers["location"])
    assert checkout.status_code == 200
    assert "Account checkout" in checkout.text
    assert "× 2" in checkout.text
    form = {
        "acsrf": acsrf(checkout.text),
        "contact": ada,
        "delivery.name": "Ada Lovelace",
        "delivery.address_line1": "12 St James's Square",
        "delivery.city": "London",
        "delivery.postal_code": "SW1Y 4JH",
        "delivery.country": "GB",
        "payment_method": "sandbox",
    }
    r = await client.post(r.headers["location"], data=form)
    assert r.status_code == 422
    assert "Accept the store" in r.text
    # The page sends the policy versions it showed (as a browser does): a policy changed since
    # the page was shown is refused, and the page shows the new version to accept.
    shown = re.findall(r'name="policy" value="([^"]+)"', checkout.text)
    assert "terms@2026-01" in shown
    assert (
        await client.patch(
            "/api/v1/stores/demo/admin/settings",
            json={"policies": {"terms": {"summary": "New terms", "version": "2026-12"}}},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
    ).status_code == 200
    path = str(checkout.url).removeprefix("http://test")
    r = await client.post(path, data={**form, "accept_policies": "yes", "policy": shown})
    assert r.status_code == 422
    assert "now version 2026-12" in r.text
    assert 'name="policy" value="terms@2026-12"' in r.text
    shown = re.findall(r'name="policy" value="([^"]+)"', r.text)
    form["acsrf"] = acsrf(r.text)
    r = await client.post(path, data={**form, "accept_policies": "yes", "policy": shown})
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/s/demo/orders/"), r.text
    async with sessionmaker() as session:
        placed = (await session.scalars(select(Order).order_by(Order.id.desc()))).first()
    assert placed is not None
    assert placed.source == "web-account"
    assert placed.account_id is not None
    home = await client.get("/account/demo")
    assert placed.number in home.text

    r = await client.post("/account/demo/sign-out-everywhere", data={"acsrf": acsrf(home.text)})
    assert r.status_code == 303
    assert r.headers["location"] == "/account/demo/sign-in?signed_out=all"
    assert (await client.get("/account/demo")).status_code == 303
    assert (await client.get("/api/v1/account")).status_code == 401


async def test_pages_refuse_forms_from_elsewhere(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    await sign_in_from_order(client, sessionmaker, settings, ada)
    r = await client.post("/account/demo/sign-out-everywhere", data={"acsrf": "x" * 43})
    assert r.status_code == 403
    assert "nothing was done" in r.text
    assert (await client.get("/api/v1/account")).status_code == 200
    assert (await client.get("/account/nowhere")).status_code == 404
    assert (await client.get("/account/demo/claim/not-a-token")).status_code == 404
    assert (await client.get("/account/demo/verify/unknown")).status_code == 404


async def test_the_tracking_page_journey_logs_no_token_and_no_code(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Create account, verify and send link from the tracking page: the pages call the services
    themselves, so nothing (no in-process HTTP client either) logs the order token or the code."""
    ada = email()
    order = await order_for(client, ada)
    token, tracking = order["token"], f"/s/demo/orders/{order['token']}"
    caplog.set_level(logging.INFO)
    with capture_logs() as events:
        page = await client.get(tracking)
        r = await client.post(f"{tracking}/account", data={"csrf": csrf_of(page.text)})
        assert r.status_code == 303
        assert r.headers["location"] == f"{tracking}?account=code-sent"
        page = await client.get(r.headers["location"])
        assert 'name="code"' in page.text
        code = await last_code(sessionmaker, settings, ada)
        r = await client.post(
            f"{tracking}/account/verify", data={"csrf": csrf_of(page.text), "code": wrong(code)}
        )
        assert r.status_code == 422
        assert 'id="code-error"><span' in r.text
        r = await client.post(f"{tracking}/account/verify", data={"csrf": csrf_of(page.text), "code": code})
        assert r.status_code == 303
        assert r.headers["location"] == f"{tracking}?account=created"
        assert "Your account is ready" in (await client.get(r.headers["location"])).text
        r = await client.post(
            f"{tracking}/send-link", data={"csrf": csrf_of(page.text), "contact": "not-a-phone"}
        )
        assert r.status_code == 422
        assert 'id="contact-error"><span' in r.text
        r = await client.post(f"{tracking}/send-link", data={"csrf": csrf_of(page.text), "contact": ada})
        assert r.status_code == 303
        assert r.headers["location"] == f"{tracking}?link=sent"
    async with sessionmaker() as session:
        claimed = await session.scalar(select(Order.account_id).where(Order.number == order["number"]))
    assert claimed is not None
    # The test's own client logs the addresses it opens (the buyer's browser, not the server).
    browser = re.compile(r"^HTTP Request: [A-Z]+ http://test/")
    logged = [m for m in (r.getMessage() for r in caplog.records) if not browser.match(m)]
    logged += [repr(event) for event in events]
    assert logged, "the journey logged nothing at all: the capture is not working"
    for line in logged:
        assert token not in line, line
        assert code not in line, line
        assert wrong(code) not in line, line
