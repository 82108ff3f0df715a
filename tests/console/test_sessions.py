"""Signing in to the console: the key only from its form, a hashed session token in a strict
HttpOnly cookie, idle and absolute ends, revoked keys, sign-out, and CSRF on every form."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.app import create_app
from ordergate.audit.service import Actor
from ordergate.console.models import ConsoleSession
from ordergate.stores.service import add_operator_key, get_store, revoke_operator_key
from tests.conftest import make_settings
from tests.console.helpers import SESSION, csrf_of, form_token, post, sign_in, text_of
from tests.factories import ADMIN_KEY, Buyer, make_store


async def test_sign_in_sets_a_strict_httponly_cookie_holding_a_hashed_token(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    r = await client.get("/admin/orders")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Forders"
    page = await client.get("/admin/sign-in")
    assert page.status_code == 200
    assert 'type="password"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    csrf_cookie = page.headers["set-cookie"].lower()
    assert "path=/admin" in csrf_cookie
    assert "samesite=strict" in csrf_cookie
    assert "httponly" in csrf_cookie

    r = await sign_in(client)
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/orders"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION}=")
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=strict" in lowered
    assert "path=/admin" in lowered
    assert "secure" not in lowered  # the demo runs on plain http; see the next test
    token = cookie.split(";")[0].split("=", 1)[1]
    async with sessionmaker() as session:
        rows = (await session.scalars(select(ConsoleSession))).all()
    assert [row.token_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert rows[0].expires_at - rows[0].created_at == timedelta(hours=12)

    orders = await client.get("/admin/orders")
    assert orders.status_code == 200
    assert "Fieldnotes Supply Co." in orders.text
    assert "testkey001" in text_of(orders.text)  # the footer names the key, never the secret
    assert ADMIN_KEY not in orders.text
    assert token not in orders.text


async def test_cookies_are_secure_outside_the_demo(client: httpx.AsyncClient, database_url: str) -> None:
    settings = make_settings(database_url, demo=False, secret_key="s" * 32)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://test") as https:
            token = await form_token(https)
            r = await https.post("/admin/sign-in", data={"key": ADMIN_KEY, "csrf": token})
            assert r.status_code == 303
            assert "secure" in r.headers["set-cookie"].lower()


@pytest.mark.usefixtures("fresh_rate_windows")
async def test_a_wrong_key_is_refused_beside_its_field_and_attempts_are_limited(
    client: httpx.AsyncClient,
) -> None:
    r = await sign_in(client, key="og_nosuchkey1_" + "x" * 32)
    assert r.status_code == 401
    assert f"{SESSION}=" not in r.headers.get("set-cookie", "")
    assert 'id="key-error"' in r.text
    assert "This key is not valid" in r.text
    assert 'aria-invalid="true"' in r.text
    r = await sign_in(client, key=ADMIN_KEY[:-1] + "x")  # the right key id, the wrong secret
    assert r.status_code == 401
    r = await sign_in(client, key="")
    assert r.status_code == 401
    assert "Enter the store" in r.text
    for _ in range(7):
        await sign_in(client, key="wrong")
    r = await sign_in(client, key=ADMIN_KEY)  # the 11th try in the window, even with the right key
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "Too many sign-in attempts" in r.text
    clock.advance(timedelta(minutes=6))
    assert (await sign_in(client)).status_code == 303


async def test_the_key_is_never_taken_from_an_address(client: httpx.AsyncClient) -> None:
    r = await client.get(f"/admin/sign-in?key={ADMIN_KEY}")
    assert r.status_code == 400
    assert "revoke" in r.text
    token = await form_token(client)
    r = await client.post(f"/admin/sign-in?key={ADMIN_KEY}", data={"csrf": token})
    assert r.status_code == 400
    assert f"{SESSION}=" not in r.headers.get("set-cookie", "")
    r = await client.post(f"/admin/sign-in?api_key={ADMIN_KEY}", data={"key": ADMIN_KEY, "csrf": token})
    assert r.status_code == 400
    assert f"{SESSION}=" not in r.headers.get("set-cookie", "")
    # Nor from a header: the console reads its own session cookie only.
    r = await client.get("/admin/orders", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/admin/sign-in")
    await sign_in(client)
    assert (await client.get(f"/admin/orders?token={ADMIN_KEY}")).status_code == 400


async def test_sessions_end_when_idle_at_their_limit_and_at_sign_out(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    clock.advance(timedelta(minutes=29))
    assert (await client.get("/admin/orders")).status_code == 200  # activity keeps it alive
    clock.advance(timedelta(minutes=29))
    assert (await client.get("/admin/orders")).status_code == 200
    clock.advance(timedelta(minutes=31))
    r = await client.get("/admin/orders")
    assert r.status_code == 303
    assert "ended=1" in r.headers["location"]
    assert "Your console session has ended" in (await client.get(r.headers["location"])).text

    await sign_in(client)
    for _ in range(28):  # busy all day: the session still ends 12 hours after sign-in
        clock.advance(timedelta(minutes=25))
        assert (await client.get("/admin/keys")).status_code == 200
    clock.advance(timedelta(minutes=25))
    assert (await client.get("/admin/keys")).status_code == 303

    await sign_in(client)
    r = await post(client, "/admin/sign-out")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/sign-in?signed_out=1"
    assert f'{SESSION}=""' in r.headers["set-cookie"] or "max-age=0" in r.headers["set-cookie"].lower()
    client.cookies.set(SESSION, "stale", path="/admin")
    assert (await client.get("/admin/orders")).status_code == 303


async def test_signing_out_forgets_the_token_on_the_server(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    r = await sign_in(client)
    token = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    await post(client, "/admin/sign-out")
    async with sessionmaker() as session:
        assert (await session.scalars(select(ConsoleSession))).all() == []
    # The old cookie, replayed, opens nothing.
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    fresh.cookies.set(SESSION, token, path="/admin")
    assert (await fresh.get("/admin/orders")).status_code == 303
    await fresh.aclose()


async def test_revoking_a_key_ends_its_sessions(
    client: httpx.AsyncClient, app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        store = await get_store(session, "demo")
        second = await add_operator_key(session, store, label="laptop", actor=Actor.system("tests"))
    await sign_in(client, key=second)
    assert (await client.get("/admin/orders")).status_code == 200
    async with sessionmaker() as session, session.begin():  # as `ordergate keys revoke` does
        store = await get_store(session, "demo")
        await revoke_operator_key(session, store, second.split("_")[1], actor=Actor.system("tests"))
    r = await client.get("/admin/orders")
    assert r.status_code == 303
    assert "ended=1" in r.headers["location"]

    # Revoking the session's own key from the console signs it out at once.
    await sign_in(client)
    keys = await client.get("/admin/keys")
    assert "this session" in keys.text
    assert "Revoked" in keys.text
    r = await post(client, "/admin/keys/testkey001/revoke")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/sign-in?ended=1"
    assert (await client.get("/admin/orders")).status_code == 303


async def test_a_key_opens_its_own_store_only(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    other_key = "og_otherkey01_" + "o" * 32
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other", name="Other Shop", key=other_key)
    demo_order = await Buyer(client).order()
    other_order = await Buyer(client, store="other").order()
    await sign_in(client, key=other_key)
    listing = await client.get("/admin/orders")
    assert "Other Shop" in listing.text
    assert other_order["number"] in listing.text
    assert demo_order["number"] not in listing.text
    assert (await client.get(f"/admin/orders/{demo_order['number']}")).status_code == 404
    r = await post(client, f"/admin/orders/{demo_order['number']}/cancel", {"reason": "x"})
    assert r.status_code == 404
    assert (await Buyer(client).track(demo_order["token"]))["status"] == "awaiting_payment"


async def test_after_sign_in_the_browser_returns_to_the_page_it_asked_for(client: httpx.AsyncClient) -> None:
    r = await client.get("/admin/report?since=7d")
    assert r.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Freport%3Fsince%3D7d"
    page = await client.get(r.headers["location"])
    assert 'name="next" value="/admin/report?since=7d"' in page.text
    token = csrf_of(client)
    r = await client.post(
        "/admin/sign-in", data={"key": ADMIN_KEY, "csrf": token, "next": "/admin/report?since=7d"}
    )
    assert r.headers["location"] == "/admin/report?since=7d"
    await post(client, "/admin/sign-out")
    for elsewhere in ("//evil.example/admin/", "https://evil.example/", "/s/demo", "/admin/../s/demo"):
        r = await client.post("/admin/sign-in", data={"key": ADMIN_KEY, "csrf": token, "next": elsewhere})
        assert r.headers["location"] == "/admin/orders", elsewhere
        await post(client, "/admin/sign-out")


async def test_every_form_needs_the_consoles_csrf_token(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    order = await buyer.order()
    await buyer.pay(order["token"])
    r = await client.post("/admin/sign-in", data={"key": ADMIN_KEY})
    assert r.status_code == 403
    assert f"{SESSION}=" not in r.headers.get("set-cookie", "")
    await sign_in(client)
    # The buyer pages' token (cookie og_csrf under /s/) does not open console forms.
    await client.get("/s/demo")
    buyer_token = str(client.cookies.get("og_csrf", path="/s/"))
    assert buyer_token
    assert buyer_token != csrf_of(client)
    number = order["number"]
    shipment = {"carrier": "DHL", "tracking_number": "JJD0001"}
    for data in ({}, {"csrf": buyer_token}, {"csrf": "x" * 43}):
        r = await client.post(f"/admin/orders/{number}/shipments", data={**shipment, **data})
        assert r.status_code == 403
        assert "nothing was changed" in r.text
    for path in (
        f"/admin/orders/{number}/cancel",
        "/admin/keys",
        "/admin/keys/testkey001/revoke",
        "/admin/sign-out",
    ):
        assert (await client.post(path, data={"csrf": buyer_token})).status_code == 403, path
    assert (await buyer.track(order["token"]))["status"] == "funded"
    assert (await client.get("/admin/orders")).status_code == 200  # still signed in, key not revoked
