"""Sessions: hashed at rest, HttpOnly cookie, idle and absolute lifetimes, sign out everywhere; and
guest routes that never read the session."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock, security
from ordergate.accounts.models import AccountSession
from ordergate.app import create_app
from ordergate.checkout.models import Checkout
from ordergate.orders.models import Order
from ordergate.settings import Settings
from tests.accounts.helpers import claim, email, last_code, order_for
from tests.conftest import make_settings
from tests.factories import DELIVERY, Buyer, load_demo_store


async def signed_in(
    client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, address: str
) -> tuple[dict[str, object], str]:
    order = await order_for(client, address)
    r = await claim(client, maker, settings, order["token"], address)
    assert r.status_code == 201, r.text
    return r.json(), r.cookies["og_account"]


async def test_tokens_are_hashed_at_rest_and_lifetimes_hold(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    _account, token = await signed_in(client, sessionmaker, settings, email())
    assert len(token) >= 22  # 192 random bits, base64url
    async with sessionmaker() as session:
        rows = (await session.scalars(select(AccountSession))).all()
    assert [r.token_hash for r in rows] == [security.hash_token(token)]
    assert all(token not in r.token_hash for r in rows)

    # Used now and then, a session lives until its absolute end.
    step = timedelta(seconds=settings.account_session_idle_seconds) / 2
    lived = timedelta(0)
    while lived + step < timedelta(seconds=settings.account_session_max_seconds):
        clock.advance(step)
        lived += step
        assert (await client.get("/api/v1/account")).status_code == 200
    clock.advance(step)
    r = await client.get("/api/v1/account")
    assert r.status_code == 401
    assert r.json()["type"] == "not-signed-in"


async def test_an_idle_session_ends(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await signed_in(client, sessionmaker, settings, email())
    clock.advance(timedelta(seconds=settings.account_session_idle_seconds - 60))
    assert (await client.get("/api/v1/account")).status_code == 200
    clock.advance(timedelta(seconds=settings.account_session_idle_seconds + 1))
    assert (await client.get("/api/v1/account")).status_code == 401


async def test_sign_out_everywhere(
    app: object, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    account, phone_token = await signed_in(client, sessionmaker, settings, ada)
    # A second device signs in with a code.
    r = await client.post("/api/v1/account/stores/demo/sign-in", json={"email": ada})
    assert r.status_code == 202
    code = await last_code(sessionmaker, settings, ada)
    laptop = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with laptop:
        r = await laptop.post(
            "/api/v1/account/stores/demo/codes/verify",
            json={"challenge": r.json()["challenge"], "code": code},
        )
        assert r.status_code == 201
        assert r.json()["id"] == account["id"]
        assert (await laptop.get("/api/v1/account")).status_code == 200
        r = await client.post("/api/v1/account/sign-out-everywhere")
        assert r.status_code == 200
        assert r.json() == {"sessions_ended": 2}
        assert "og_account=" in r.headers["set-cookie"]
        assert "Max-Age=0" in r.headers["set-cookie"]
        assert (await laptop.get("/api/v1/account")).status_code == 401
    client.cookies.set("og_account", phone_token)
    assert (await client.get("/api/v1/account")).status_code == 401


async def test_the_cookie_is_secure_outside_the_demo(database_url: str) -> None:
    settings = make_settings(database_url, demo=False, secret_key="s" * 32, base_url="https://shop.example")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session, session.begin():
            await load_demo_store(session)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://shop.example") as c:
            ada = email()
            order = await order_for(c, ada)
            r = await claim(c, app.state.sessionmaker, settings, order["token"], ada)
            assert r.status_code == 201
            cookie = r.headers["set-cookie"]
            assert "; Secure" in cookie
            assert "HttpOnly" in cookie
            assert "SameSite=lax" in cookie
            assert "Max-Age=2592000" in cookie


async def test_guest_routes_ignore_the_session_cookie(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    account, token = await signed_in(client, sessionmaker, settings, ada)
    assert client.cookies.get("og_account") == token
    # A guest checkout by the signed-in buyer (the cookie travels): linked to no account.
    buyer = Buyer(client, headers={"Cookie": f"og_account={token}"})
    order = await buyer.order()
    async with sessionmaker() as session:
        placed = await session.scalar(select(Order).where(Order.number == order["number"]))
    assert placed is not None
    assert placed.account_id is None
    assert placed.source == "web-guest"

    # An account checkout: linked to the account, source web-account; guest routes cannot see it.
    r = await client.post(
        "/api/v1/account/stores/demo/checkouts",
        json={"items": [{"sku": "NB-A5-DOT", "quantity": 1}], "delivery": DELIVERY},
    )
    assert r.status_code == 201, r.text
    checkout = r.json()
    assert checkout["contact"]["email"] == ada
    assert checkout["resume_url"].startswith("http://test/account/demo/")
    assert (await client.get(f"/api/v1/stores/demo/checkouts/{checkout['id']}")).status_code == 404
    # Nor quote it: 404, and the funnel's quote stamp (written by the quote's first statement) is undone.
    assert (await client.post(f"/api/v1/stores/demo/checkouts/{checkout['id']}/quote")).status_code == 404
    async with sessionmaker() as session:
        held = await session.scalar(
            select(Checkout).where(Checkout.id_hash == security.hash_token(checkout["id"]))
        )
    assert held is not None
    assert held.quoted_at is None
    policies = await buyer.policies()
    body = {"payment_method": "sandbox", "accepted_policies": policies}
    r = await client.post(f"/api/v1/stores/demo/checkouts/{checkout['id']}/orders", json=body)
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/account/stores/demo/checkouts/{checkout['id']}/orders",
        json=body,
        headers={"Idempotency-Key": "k1"},
    )
    assert r.status_code == 201, r.text
    again = await client.post(
        f"/api/v1/account/stores/demo/checkouts/{checkout['id']}/orders",
        json=body,
        headers={"Idempotency-Key": "k1"},
    )
    assert again.status_code == 200
    assert again.json()["number"] == r.json()["number"]
    async with sessionmaker() as session:
        mine = await session.scalar(select(Order).where(Order.number == r.json()["number"]))
    assert mine is not None
    assert mine.account_id == account["id"]
    assert mine.source == "web-account"

    # Another account cannot touch it, and a guest checkout is not an account's.
    guest_checkout = await Buyer(client).ready()
    r = await client.get(f"/api/v1/account/stores/demo/checkouts/{guest_checkout['id']}")
    assert r.status_code == 404
    client.cookies.clear()
    r = await client.get(f"/api/v1/account/stores/demo/checkouts/{checkout['id']}")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"

    # The guest claim route reads no session either: the account comes from the proven contact.
    bob = email()
    other = await order_for(client, bob)
    client.cookies.set("og_account", token)
    r = await claim(client, sessionmaker, settings, other["token"], bob)
    assert r.status_code == 201
    assert r.json()["id"] != account["id"]


@pytest.mark.parametrize("path", ["/api/v1/account", "/api/v1/account/orders", "/api/v1/account/passkeys"])
async def test_account_routes_need_a_session(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, headers={"Cookie": "og_account=" + "x" * 32})
    assert r.status_code == 401
    assert r.json()["errors"] == []
