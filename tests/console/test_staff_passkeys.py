"""Staff passkeys with a software authenticator that signs for real: a staff member signed in by
emailed code adds a passkey on their own page, then signs in to the console with it, no code; a
replayed answer, a deactivated member and a key holder are refused."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.audit.models import AuditEntry
from ordergate.settings import Settings
from tests.accounts.authenticator import SoftwareAuthenticator
from tests.console.helpers import SESSION, post, sign_in, text_of
from tests.console.staff_helpers import ADA, invite, mailed_code, staff_sign_in
from tests.notifications.servers import SmtpTestServer

ORIGIN = "http://test"  # the test settings' base URL: RP id "test"


async def passkey_sign_in(client: httpx.AsyncClient, device: SoftwareAuthenticator) -> httpx.Response:
    start = (await client.post("/admin/sign-in/passkey/options")).json()
    answer = device.get(start["publicKey"])
    return await client.post(
        "/admin/sign-in/passkey", json={"challenge": start["challenge"], "credential": answer}
    )


async def test_add_a_passkey_then_sign_in_with_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    smtp: SmtpTestServer,
) -> None:
    await sign_in(client)
    assert (await invite(client, ADA, "staff", "5")).status_code == 303
    code, path = await mailed_code(sessionmaker, settings, smtp, ADA)
    assert (await staff_sign_in(staff_client, path, code)).status_code == 303
    me = text_of((await staff_client.get("/admin/me")).text)
    assert "No passkey yet" in me
    assert "refund limit 5.00 EUR" in me

    device = SoftwareAuthenticator(origin=ORIGIN)
    start = (await staff_client.post("/admin/me/passkeys/options")).json()
    assert start["publicKey"]["rp"]["id"] == "test"
    assert start["publicKey"]["user"]["name"] == ADA
    r = await staff_client.post(
        "/admin/me/passkeys",
        json={
            "challenge": start["challenge"],
            "credential": device.create(start["publicKey"]),
            "name": "Work phone",
        },
    )
    assert r.status_code == 201, r.text
    assert "Work phone" in text_of((await staff_client.get("/admin/me")).text)

    # A new browser: the passkey alone signs in, to the console of the store where ADA is staff.
    transport = httpx.ASGITransport(app=app, client=("198.51.100.30", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as fresh:
        start = (await fresh.post("/admin/sign-in/passkey/options")).json()
        answer = device.get(start["publicKey"])
        r = await fresh.post(
            "/admin/sign-in/passkey", json={"challenge": start["challenge"], "credential": answer}
        )
        assert r.status_code == 200, r.text
        assert fresh.cookies.get(SESSION, path="/admin")
        assert f"as {ADA} (staff" in text_of((await fresh.get("/admin/orders")).text)
        # The same answer again: its challenge is spent.
        again = await fresh.post(
            "/admin/sign-in/passkey", json={"challenge": start["challenge"], "credential": answer}
        )
        assert again.status_code == 400
        assert again.headers["content-type"] == "application/problem+json"
        assert again.json()["errors"][0]["field"] == "challenge"

    async with sessionmaker() as session:
        rows = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.actor == ADA).order_by(AuditEntry.id))
        )
    assert [(e.action, e.detail.get("with")) for e in rows if e.action != "staff.passkey_add"] == [
        ("console.sign_in", "email code"),
        ("console.sign_in", "passkey"),
    ]
    assert [e.detail for e in rows if e.action == "staff.passkey_add"] == [{"name": "Work phone"}]
    assert rows[-1].address == "198.51.100.30"

    # Deactivated: the passkey opens nothing any more.
    member = (await client.get("/admin/staff")).text.split('action="/admin/staff/')[1].split('"')[0]
    assert (await post(client, f"/admin/staff/{member}/deactivate")).status_code == 303
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as fresh:
        r = await passkey_sign_in(fresh, device)
        assert r.status_code == 403
        assert r.json()["errors"][0]["field"] == "credential"
        assert not fresh.cookies.get(SESSION, path="/admin")


async def test_a_key_holder_has_no_passkey_to_add(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    assert "Passkeys are for staff members" in text_of((await client.get("/admin/me")).text)
    r = await client.post("/admin/me/passkeys/options")
    assert r.status_code == 403
    assert r.json()["errors"][0]["field"] == "passkey"
    # And without a session the console's passkey routes send the browser to sign in.
    client.cookies.clear()
    assert (await client.post("/admin/me/passkeys/options")).status_code == 303
