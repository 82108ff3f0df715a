"""The rest of the account API: contacts, phone numbers, the cart to an account checkout, the
worker's sweep, hostile passkey bodies, and the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.accounts.models import AccountSession, VerificationCode
from ordergate.orders.models import Order
from ordergate.settings import Settings
from ordergate.worker import run_once
from tests.accounts.helpers import claim, email, last_code, order_for
from tests.accounts.test_pages import acsrf
from tests.factories import DELIVERY, Buyer


async def test_a_phone_only_order_gets_its_code_by_text(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    buyer = Buyer(client)
    chk = await buyer.open()
    phone = "+447911123456"
    r = await client.patch(
        f"/api/v1/stores/demo/checkouts/{chk['id']}", json={"contact": {"phone": phone}, "delivery": DELIVERY}
    )
    assert r.status_code == 200
    order = (await buyer.place(chk["id"])).json()
    r = await client.post(f"/api/v1/stores/demo/orders/{order['token']}/account")
    assert r.status_code == 202
    assert r.json()["channel"] == "sms"
    assert r.json()["sent_to"].endswith("456")
    r = await client.post(
        f"/api/v1/stores/demo/orders/{order['token']}/account/verify",
        json={"code": await last_code(sessionmaker, settings, phone)},
    )
    assert r.status_code == 201
    assert r.json()["contacts"][0]["kind"] == "phone"
    assert r.json()["orders"][0]["number"] == order["number"]


async def test_contacts_can_be_removed_but_not_the_last_verified(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada, second = email(), email()
    order = await order_for(client, ada)
    account = (await claim(client, sessionmaker, settings, order["token"], ada)).json()
    only = account["contacts"][0]
    contacts = (await client.get("/api/v1/account")).json()["contacts"]
    assert contacts == [only]
    page = await client.get("/account/demo")
    r = await client.post("/account/demo/contacts", data={"acsrf": acsrf(page.text), "contact": second})
    assert r.status_code == 303
    verify = r.headers["location"]
    verify_page = await client.get(verify)
    assert "Add a contact" in verify_page.text
    r = await client.post(
        verify,
        data={"acsrf": acsrf(verify_page.text), "code": await last_code(sessionmaker, settings, second)},
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/account/demo?contact=added"
    contacts = (await client.get("/api/v1/account")).json()["contacts"]
    assert {c["value"] for c in contacts} == {ada, second}
    # The ids are not in the API view; the page shows a remove button for each while two are verified.
    page = await client.get("/account/demo")
    assert page.text.count("/contacts/") == 2  # a remove form for each
    ids = [int(part.split("/")[0]) for part in page.text.split("/account/demo/contacts/")[1:]]
    r = await client.delete(f"/api/v1/account/contacts/{ids[0]}")
    assert r.status_code == 204
    r = await client.delete(f"/api/v1/account/contacts/{ids[1]}")
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "contact"
    assert (await client.delete("/api/v1/account/contacts/999999")).status_code == 404


async def test_a_contact_verified_elsewhere_cannot_be_taken(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada, bob = email(), email()
    await claim(client, sessionmaker, settings, (await order_for(client, bob))["token"], bob)
    client.cookies.clear()
    await claim(client, sessionmaker, settings, (await order_for(client, ada))["token"], ada)
    r = await client.post("/api/v1/account/stores/demo/contacts", json={"email": bob})
    assert r.status_code == 202
    r = await client.post(
        "/api/v1/account/stores/demo/codes/verify",
        json={"challenge": r.json()["challenge"], "code": await last_code(sessionmaker, settings, bob)},
    )
    assert r.status_code == 409
    assert r.json()["type"] == "contact-taken"


async def test_a_cart_becomes_an_account_checkout(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    await claim(client, sessionmaker, settings, (await order_for(client, ada))["token"], ada)
    page = await client.get("/account/demo")
    r = await client.post(
        "/account/demo/checkout",
        data={"acsrf": acsrf(page.text), "sku": ["NB-A5-DOT", "CASE-CANVAS"], "qty": ["1", "2"]},
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/demo/checkout/")
    checkout = await client.get(r.headers["location"])
    assert checkout.status_code == 200
    assert ada in checkout.text
    # Signed out, the page sends the buyer to sign in.
    client.cookies.delete("og_account")
    r = await client.get(str(checkout.url).removeprefix("http://test"))
    assert r.status_code == 303
    assert "/account/demo/sign-in" in r.headers["location"]


async def test_the_worker_sweeps_ended_sessions_and_old_codes(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    await claim(client, sessionmaker, settings, (await order_for(client, ada))["token"], ada)
    await run_once(sessionmaker, settings)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AccountSession)) == 1
    clock.advance(timedelta(seconds=settings.account_session_max_seconds + 1))
    await run_once(sessionmaker, settings)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AccountSession)) == 0
        assert await session.scalar(select(func.count()).select_from(VerificationCode)) == 0
        assert await session.scalar(select(func.count()).select_from(Order)) == 1


async def test_hostile_passkey_bodies_are_refused_not_crashes(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    await claim(client, sessionmaker, settings, (await order_for(client, ada))["token"], ada)
    bodies = [
        {},
        {"id": "AA", "rawId": "AA", "type": "public-key", "response": "nope"},
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {"clientDataJSON": "!!", "attestationObject": 5},
        },
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {"clientDataJSON": "e30", "attestationObject": "oA"},
        },
        {"id": "AA", "rawId": "%%%", "type": "x", "response": {"transports": "usb"}},
    ]
    for credential in bodies:
        start = (await client.post("/api/v1/account/passkeys/registration/options")).json()
        r = await client.post(
            "/api/v1/account/passkeys", json={"challenge": start["challenge"], "credential": credential}
        )
        assert r.status_code == 400, (credential, r.text)
        start = (await client.post("/api/v1/account/passkeys/sign-in/options")).json()
        r = await client.post(
            "/api/v1/account/passkeys/sign-in",
            json={"challenge": start["challenge"], "credential": credential},
        )
        assert r.status_code == 400, (credential, r.text)
    r = await client.post("/api/v1/account/passkeys", json={"challenge": "unknown", "credential": {}})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "challenge"


async def test_openapi_describes_the_account_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    start = paths["/api/v1/stores/{store}/orders/{token}/account"]["post"]
    assert "202" in start["responses"]
    assert "429" in start["responses"]
    verify = paths["/api/v1/stores/{store}/orders/{token}/account/verify"]["post"]
    assert "201" in verify["responses"]
    assert "422" in verify["responses"]
    for path in (
        "/api/v1/account",
        "/api/v1/account/orders",
        "/api/v1/account/stores/{store}/checkouts",
        "/api/v1/account/stores/{store}/checkouts/{checkout_id}/orders",
        "/api/v1/account/passkeys/sign-in",
        "/api/v1/account/sign-out-everywhere",
    ):
        assert path in paths
    assert not any(p.startswith("/account/") for p in paths)  # pages stay out of the API document
