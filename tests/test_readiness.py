"""What the store advertises follows its settings and its payment methods' readiness."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.app import create_app
from ordergate.settings import Settings
from tests.conftest import make_settings
from tests.factories import Buyer, demo_config, make_store


async def test_disabled_guest_checkout(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="closed", guest_checkout=False)
    store = (await client.get("/api/v1/stores/closed")).json()
    assert store["guest_checkout"] == {"available": False, "reason": "disabled"}
    chk = await Buyer(client, store="closed").ready()
    r = await Buyer(client, store="closed").place(chk["id"])
    assert r.status_code == 409
    assert "disabled" in r.json()["detail"]


async def test_account_required(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="members", account_required=True)
    store = (await client.get("/api/v1/stores/members")).json()
    assert store["guest_checkout"] == {"available": False, "reason": "account_required"}


async def test_no_ready_payment_method(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    methods = [m.model_dump() for m in demo_config().payment_methods]
    for m in methods:
        if m["kind"] == "manual":
            m["settings"] = {"account_name": "No IBAN Ltd"}
        else:
            m["settings"] = {}  # sandbox without a rate
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="unready", payment_methods=methods)
    store = (await client.get("/api/v1/stores/unready")).json()
    assert store["guest_checkout"] == {"available": False, "reason": "no_ready_payment_method"}
    assert {m["id"]: m["reason"] for m in store["payment_methods"]} == {
        "sandbox": "rate_not_configured",
        "manual": "missing_iban",
    }
    chk = await Buyer(client, store="unready").ready()
    r = await Buyer(client, store="unready").place(chk["id"])
    assert r.status_code == 409


@pytest.fixture
async def no_sandbox_client(database_url: str) -> httpx.AsyncClient:
    settings: Settings = make_settings(database_url, sandbox=False)
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        maker = application.state.sessionmaker
        async with maker() as session, session.begin():
            from tests.factories import load_demo_store

            await load_demo_store(session)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as c:
            yield c


async def test_sandbox_off_hides_the_method_and_its_route(no_sandbox_client: httpx.AsyncClient) -> None:
    client = no_sandbox_client
    store = (await client.get("/api/v1/stores/demo")).json()
    assert store["guest_checkout"]["available"] is True  # manual is still ready
    assert {m["id"]: m["ready"] for m in store["payment_methods"]} == {"sandbox": False, "manual": True}
    buyer = Buyer(client)
    chk = await buyer.ready()
    r = await buyer.place(chk["id"], method="sandbox")
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "payment_method"
    order = await buyer.order(method="manual")
    r = await client.post(
        f"/api/v1/sandbox/stores/demo/orders/{order['token']}/payments", json={"confirmations": 1}
    )
    assert r.status_code == 404


async def test_operator_reads_settings_with_secrets_masked(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    r = await client.get("/api/v1/stores/demo/admin/settings", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["checkout_ttl_seconds"] == 86400
    assert body["payment_window_seconds"] == 900
    manual = next(m for m in body["payment_methods"] if m["id"] == "manual")
    assert manual["payment_window_seconds"] == 259200
    assert manual["settings"]["iban"].startswith("DE89")
    assert body["notification_channels"] == ["email", "sms"]
    assert body["automatic_accounts"] is False
    assert (await client.get("/api/v1/stores/demo/admin/settings")).status_code == 401

    methods = [m.model_dump() for m in demo_config().payment_methods]
    methods[0]["settings"] = {**methods[0]["settings"], "api_key": "sk_live_dont_show_me"}
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="masked", key="og_maskedkey1_" + "m" * 32, payment_methods=methods)
    r = await client.get(
        "/api/v1/stores/masked/admin/settings", headers={"Authorization": "Bearer og_maskedkey1_" + "m" * 32}
    )
    assert "sk_live_dont_show_me" not in r.text
    assert r.json()["payment_methods"][0]["settings"]["api_key"] == "•••"


async def test_delivery_fields_per_country(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="us-too", delivery_fields_by_country={"US": ["region"]})
    store = (await client.get("/api/v1/stores/us-too")).json()
    assert {"name": "region", "required": False, "required_in": ["US"]} in store["delivery_fields"]
    buyer = Buyer(client, store="us-too")
    chk = await buyer.open()
    url = f"/api/v1/stores/us-too/checkouts/{chk['id']}"
    base = {"name": "A", "address_line1": "1 Main St", "city": "Springfield", "postal_code": "62701"}
    r = await client.patch(
        url, json={"contact": {"email": "a@example.com"}, "delivery": {**base, "country": "US"}}
    )
    assert r.json()["missing"] == ["delivery.region"]
    r = await client.patch(url, json={"delivery": {"country": "GB"}})
    assert r.json()["missing"] == []
