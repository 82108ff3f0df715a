"""Guest to account in one step: a code to the order's contact, and only proof attaches orders."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.accounts.models import AccountContact, VerificationCode
from ordergate.orders.models import Order
from ordergate.settings import Settings
from tests.accounts.helpers import align_rate_windows, claim, codes_sent, email, last_code, order_for, wrong
from tests.factories import make_store


async def owners(maker: async_sessionmaker[AsyncSession]) -> dict[str, int | None]:
    async with maker() as session:
        return {n: a for n, a in (await session.execute(select(Order.number, Order.account_id))).all()}


async def test_create_account_from_an_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other")
    ada, bob = email(), email()
    first = await order_for(client, ada)
    second = await order_for(client, ada.upper().replace("@EXAMPLE.COM", "@example.com"))
    someone_else = await order_for(client, bob)
    elsewhere = await order_for(client, ada, store="other")

    base = f"/api/v1/stores/demo/orders/{first['token']}/account"
    r = await client.post(base)
    assert r.status_code == 202, r.text
    sent = r.json()
    assert sent["channel"] == "email"
    assert sent["sent_to"].startswith(ada[0])
    assert "•" in sent["sent_to"]
    assert sent["verify_url"] == f"http://test/account/demo/verify/{sent['challenge']}"
    assert r.headers["cache-control"] == "no-store"
    code = await last_code(sessionmaker, settings, ada)
    assert len(code) == 6
    assert code.isdigit()

    # The code is stored only as an HMAC.
    async with sessionmaker() as session:
        row = await session.scalar(select(VerificationCode))
    assert row is not None
    assert code not in row.code_hash
    assert len(row.code_hash) == 64

    r = await client.post(f"{base}/verify", json={"code": wrong(code)})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "code"
    assert "4 tries left" in r.json()["detail"]
    assert "og_account" not in r.cookies

    r = await client.post(f"{base}/verify", json={"code": f" {code[:3]} {code[3:]} "})
    assert r.status_code == 201, r.text
    account = r.json()
    assert {o["number"] for o in account["orders"]} == {first["number"], second["number"]}
    assert account["attached"] == 2
    assert account["status"] == "active"
    assert account["contacts"] == [
        {
            "kind": "email",
            "value": ada.lower(),
            "verified": True,
            "verified_at": account["contacts"][0]["verified_at"],
        }
    ]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("og_account=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the demo runs on plain http; outside the demo it is Secure
    assert all(o["tracking_url"].startswith("http://test/s/demo/orders/") for o in account["orders"])

    who = await owners(sessionmaker)
    assert who[first["number"]] == who[second["number"]] == account["id"]
    assert who[someone_else["number"]] is None
    assert who[elsewhere["number"]] is None

    # Signed in: the account API reads the cookie.
    me = await client.get("/api/v1/account")
    assert me.status_code == 200
    assert me.json()["id"] == account["id"]

    # Single use.
    r = await client.post(f"{base}/verify", json={"code": code})
    assert r.status_code == 422
    assert "already used" in r.json()["detail"]


async def test_a_second_claim_signs_into_the_same_account(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    first = await order_for(client, ada)
    r = await claim(client, sessionmaker, settings, first["token"], ada)
    assert r.status_code == 201
    later = await order_for(client, ada)
    client.cookies.clear()
    r = await claim(client, sessionmaker, settings, later["token"], ada)
    assert r.status_code == 201
    assert r.json()["id"] == (await owners(sessionmaker))[first["number"]]
    assert {o["number"] for o in r.json()["orders"]} == {first["number"], later["number"]}


async def test_typing_someone_elses_email_claims_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    victim = email()
    theirs = await order_for(client, victim)
    # The attacker places an order with the victim's address: the code still goes to the victim.
    mine = await order_for(client, victim)
    r = await client.post(f"/api/v1/stores/demo/orders/{mine['token']}/account")
    assert r.status_code == 202
    assert await codes_sent(sessionmaker, victim) == 1
    code = await last_code(sessionmaker, settings, victim)
    for attempt in range(5):
        r = await client.post(
            f"/api/v1/stores/demo/orders/{mine['token']}/account/verify",
            json={"code": f"{(int(code) + 1 + attempt) % 10**6:06d}"},
        )
        assert r.status_code in (422, 429)
    # The code is dead after five wrong tries, even the right one.
    r = await client.post(f"/api/v1/stores/demo/orders/{mine['token']}/account/verify", json={"code": code})
    assert r.status_code in (422, 429)
    who = await owners(sessionmaker)
    assert who[theirs["number"]] is None
    assert who[mine["number"]] is None
    # A sign-in code for the victim's address goes to the victim, and nothing attaches without it.
    r = await client.post("/api/v1/account/stores/demo/sign-in", json={"email": victim})
    assert r.status_code == 202
    assert await codes_sent(sessionmaker, victim) == 2


async def test_codes_expire_and_newer_codes_replace_older(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await order_for(client, ada)
    align_rate_windows()
    base = f"/api/v1/stores/demo/orders/{order['token']}/account"
    assert (await client.post(base)).status_code == 202
    old = await last_code(sessionmaker, settings, ada)
    clock.advance(timedelta(minutes=1))
    assert (await client.post(base, json={"channel": "email"})).status_code == 202
    new = await last_code(sessionmaker, settings, ada)
    if old != new:
        r = await client.post(f"{base}/verify", json={"code": old})
        assert r.status_code == 422
    clock.advance(timedelta(minutes=16))
    r = await client.post(f"{base}/verify", json={"code": new})
    assert r.status_code == 422
    assert "expired" in r.json()["detail"]
    r = await client.post(base, json={"channel": "phone"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "channel"
    r = await client.post(f"{base}/verify", json={"code": "12ab"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "code"
    r = await client.post(f"{base}/verify", json={"cod": "123456"})
    assert r.status_code == 422
    r = await client.post("/api/v1/stores/demo/orders/not-a-token/account")
    assert r.status_code == 404


@pytest.mark.usefixtures("fresh_rate_windows")
async def test_rate_limits_hold_and_answer_429_with_retry_after(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await order_for(client, ada)
    align_rate_windows()
    base = f"/api/v1/stores/demo/orders/{order['token']}/account"
    assert (await client.post(base)).status_code == 202
    assert (await client.post(base)).status_code == 202
    r = await client.post(base)
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert await codes_sent(sessionmaker, ada) == 2

    code = await last_code(sessionmaker, settings, ada)
    statuses = [
        (await client.post(f"{base}/verify", json={"code": wrong(code)})).status_code for _ in range(6)
    ]
    assert statuses[:4] == [422] * 4
    assert 429 in statuses
    # A few minutes on, the per-minute limit is over but the block holds (10 checks in 15 minutes).
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        statuses.append((await client.post(f"{base}/verify", json={"code": code})).status_code)
    async with sessionmaker() as session:
        row = await session.scalar(select(VerificationCode).order_by(VerificationCode.id.desc()))
    assert row is not None
    assert row.attempts == 5
    assert all(s in (422, 429) for s in statuses)
    assert (await client.post(f"{base}/verify", json={"code": code})).status_code == 422  # the 10th
    r = await client.post(f"{base}/verify", json={"code": code})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 60


async def test_an_unverified_contact_attaches_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada, other = email(), email()
    first = await order_for(client, ada)
    theirs = await order_for(client, other)
    assert (await claim(client, sessionmaker, settings, first["token"], ada)).status_code == 201
    r = await client.post("/api/v1/account/stores/demo/contacts", json={"email": other})
    assert r.status_code == 202
    challenge = r.json()["challenge"]
    async with sessionmaker() as session:
        row = await session.scalar(select(AccountContact).where(AccountContact.value == other))
    assert row is None  # nothing is written for a contact until it is proven
    assert (await owners(sessionmaker))[theirs["number"]] is None
    code = await last_code(sessionmaker, settings, other)
    r = await client.post(
        "/api/v1/account/stores/demo/codes/verify", json={"challenge": challenge, "code": code}
    )
    assert r.status_code == 201, r.text
    assert {c["value"] for c in r.json()["contacts"] if c["verified"]} == {ada, other}
    assert (await owners(sessionmaker))[theirs["number"]] == r.json()["id"]


async def test_the_same_code_sent_twice_at_once_makes_one_account(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await order_for(client, ada)
    base = f"/api/v1/stores/demo/orders/{order['token']}/account"
    assert (await client.post(base)).status_code == 202
    code = await last_code(sessionmaker, settings, ada)
    first, second = await asyncio.gather(
        client.post(f"{base}/verify", json={"code": code}), client.post(f"{base}/verify", json={"code": code})
    )
    assert sorted([first.status_code, second.status_code]) == [201, 422]
    async with sessionmaker() as session:
        contacts = (await session.scalars(select(AccountContact))).all()
    assert len(contacts) == 1


async def test_the_emailed_link_is_spent_only_by_the_pages_post(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    from email import message_from_bytes

    from ordergate.notifications.delivery import outbox_pass

    ada = email()
    order = await order_for(client, ada)
    sent = (await client.post(f"/api/v1/stores/demo/orders/{order['token']}/account")).json()
    code = await last_code(sessionmaker, settings, ada)
    await outbox_pass(sessionmaker, settings)
    mails = sorted((settings.var_dir / "mail").glob("*verification_code*.eml"))
    assert mails, list((settings.var_dir / "mail").glob("*"))
    text = next(
        part.get_payload(decode=True).decode()
        for part in message_from_bytes(mails[-1].read_bytes()).walk()
        if part.get_content_type() == "text/plain"
    )
    link = f"{sent['verify_url']}#code={code}"
    assert link in text
    # A mail scanner following the link (a GET; the fragment never reaches the server) spends nothing.
    for _ in range(3):
        page = await client.get(sent["verify_url"].removeprefix("http://test"))
        assert page.status_code == 200
    r = await client.post(f"/api/v1/stores/demo/orders/{order['token']}/account/verify", json={"code": code})
    assert r.status_code == 201, r.text
