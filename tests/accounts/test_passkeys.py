"""Passkeys end to end with a software authenticator that signs for real: register after
verifying, sign in later with no password and no code, and every way a forged answer fails."""

from __future__ import annotations

import copy

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.accounts.models import Passkey
from ordergate.settings import Settings
from tests.accounts.authenticator import SoftwareAuthenticator, b64url
from tests.accounts.helpers import claim, email, order_for

ORIGIN = "http://test"  # the test settings' base URL: RP id "test"


async def register(client: httpx.AsyncClient, device: SoftwareAuthenticator) -> httpx.Response:
    r = await client.post("/api/v1/account/passkeys/registration/options?store=demo")
    assert r.status_code == 200, r.text
    start = r.json()
    options = start["publicKey"]
    assert options["rp"] == {"id": "test", "name": "Fieldnotes Supply Co."}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    return await client.post(
        "/api/v1/account/passkeys",
        json={"challenge": start["challenge"], "credential": device.create(options), "name": "Test phone"},
    )


async def sign_in_options(client: httpx.AsyncClient) -> dict[str, object]:
    r = await client.post("/api/v1/account/passkeys/sign-in/options")
    assert r.status_code == 200
    return dict(r.json())


async def test_register_then_sign_in_with_no_code(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await order_for(client, ada)
    account = (await claim(client, sessionmaker, settings, order["token"], ada)).json()
    device = SoftwareAuthenticator(origin=ORIGIN)
    r = await register(client, device)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Test phone"
    passkeys = (await client.get("/api/v1/account/passkeys")).json()
    assert [p["name"] for p in passkeys] == ["Test phone"]
    # Registering the same authenticator twice is refused by the options' exclude list.
    start = (await client.post("/api/v1/account/passkeys/registration/options")).json()
    assert start["publicKey"]["excludeCredentials"][0]["id"] == b64url(device.credentials[0].credential_id)

    client.cookies.clear()
    assert (await client.get("/api/v1/account")).status_code == 401
    start = await sign_in_options(client)
    r = await client.post(
        "/api/v1/account/passkeys/sign-in?store=demo",
        json={"challenge": start["challenge"], "credential": device.get(start["publicKey"])},  # type: ignore[arg-type]
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == account["id"]
    assert r.json()["orders"][0]["number"] == order["number"]
    assert "og_account=" in r.headers["set-cookie"]
    me = await client.get("/api/v1/account")
    assert me.status_code == 200
    assert me.json()["passkeys"][0]["last_used_at"] is not None
    async with sessionmaker() as session:
        stored = await session.scalar(select(Passkey))
    assert stored is not None
    assert stored.sign_count == 1


async def test_forged_and_replayed_answers_fail(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await order_for(client, ada)
    await claim(client, sessionmaker, settings, order["token"], ada)
    device = SoftwareAuthenticator(origin=ORIGIN)
    assert (await register(client, device)).status_code == 201
    client.cookies.clear()

    async def attempt(credential: dict[str, object], challenge: str) -> httpx.Response:
        return await client.post(
            "/api/v1/account/passkeys/sign-in", json={"challenge": challenge, "credential": credential}
        )

    # Another site's origin (phishing): refused.
    start = await sign_in_options(client)
    r = await attempt(device.get(start["publicKey"], origin="https://evil.example"), start["challenge"])  # type: ignore[arg-type]
    assert r.status_code == 400
    assert r.json()["type"] == "passkey-rejected"
    assert r.json()["errors"][0]["field"] == "credential"

    # A signature that does not match: refused.
    start = await sign_in_options(client)
    answer = device.get(start["publicKey"])  # type: ignore[arg-type]
    tampered = copy.deepcopy(answer)
    tampered["response"]["signature"] = b64url(b"\x30\x06\x02\x01\x01\x02\x01\x01")
    assert (await attempt(tampered, start["challenge"])).status_code == 400  # type: ignore[arg-type]
    # The genuine answer after the challenge was spent: refused (single use).
    assert (await attempt(answer, start["challenge"])).status_code == 400  # type: ignore[arg-type]

    # An authenticator that did not verify the user: refused (user verification is required).
    start = await sign_in_options(client)
    device.user_verified = False
    r = await attempt(device.get(start["publicKey"]), start["challenge"])  # type: ignore[arg-type]
    assert r.status_code == 400
    device.user_verified = True

    # A cloned authenticator replaying an old counter: refused (after a genuine sign-in).
    start = await sign_in_options(client)
    assert (await attempt(device.get(start["publicKey"]), start["challenge"])).status_code == 200  # type: ignore[arg-type]
    start = await sign_in_options(client)
    device.credentials[0].sign_count = 0
    r = await attempt(device.get(start["publicKey"]), start["challenge"])  # type: ignore[arg-type]
    assert r.status_code == 400

    # An unknown credential, and a malformed body.
    start = await sign_in_options(client)
    stranger = SoftwareAuthenticator(origin=ORIGIN)
    stranger.create({"rp": {"id": "test"}, "user": {"id": b64url(b"x" * 16)}, "challenge": "AA"})
    r = await attempt(stranger.get(start["publicKey"]), start["challenge"])  # type: ignore[arg-type]
    assert r.status_code == 400
    assert "not registered" in r.json()["detail"]
    r = await attempt({"id": 5}, start["challenge"])  # type: ignore[arg-type]
    assert r.status_code == 400
    r = await client.post("/api/v1/account/passkeys/sign-in", json={"challenge": "x"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "credential"


async def test_a_removed_passkey_no_longer_signs_in(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    ada = email()
    order = await order_for(client, ada)
    await claim(client, sessionmaker, settings, order["token"], ada)
    device = SoftwareAuthenticator(origin=ORIGIN)
    passkey = (await register(client, device)).json()
    # Registration needs the signed-in account that asked: another session's challenge is refused.
    r = await client.delete(f"/api/v1/account/passkeys/{passkey['id']}")
    assert r.status_code == 204
    assert (await client.get("/api/v1/account/passkeys")).json() == []
    assert (await client.delete(f"/api/v1/account/passkeys/{passkey['id']}")).status_code == 404
    client.cookies.clear()
    start = await sign_in_options(client)
    r = await client.post(
        "/api/v1/account/passkeys/sign-in",
        json={"challenge": start["challenge"], "credential": device.get(start["publicKey"])},  # type: ignore[arg-type]
    )
    assert r.status_code == 400
    # Without a session, no passkey can be registered.
    r = await client.post("/api/v1/account/passkeys/registration/options")
    assert r.status_code == 401
