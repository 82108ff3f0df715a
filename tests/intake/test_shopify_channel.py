"""Shopify as it really sends: test orders (`"test": true` in the Order resource, or the
`X-Shopify-Test: true` header) are shown but never booked, and the un-prefixed `Shopify-*` headers
of event subscriptions are accepted beside the `X-Shopify-*` ones."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.intake.sources import load_sources
from ordergate.notifications.models import OutboxMessage
from ordergate.settings import Settings
from ordergate.stores.service import get_store
from tests.console.helpers import sign_in, text_of
from tests.factories import demo_config
from tests.intake.channel import SHOP, Channel, b64_hmac, body_of, shopify_order
from tests.intake.test_shopify import operator_order, stock

ADMIN = "/api/v1/stores/demo/admin"


async def _outbox(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_a_test_order_is_shown_marked_but_holds_no_stock_and_sends_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before, messages = await stock(sessionmaker, "NB-A5-DOT"), await _outbox(sessionmaker)
    # Shopify's "Send test notification" and orders placed with the Bogus gateway say `test: true`.
    r = await Channel(client).shopify(shopify_order(test=True, financial_status="pending"))
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["status"] == "accepted"
    assert [(i["rule"], i["severity"]) for i in answer["issues"]] == [("channel.test_order", "warn")]
    order = await operator_order(client, admin, answer["order_id"])
    assert order["test"] is True
    assert order["needs_attention"] is False
    assert await stock(sessionmaker, "NB-A5-DOT") == before  # nothing reserved
    listed = (await client.get(f"{ADMIN}/orders", headers=admin)).json()["items"]
    assert [(o["number"], o["test"]) for o in listed] == [(answer["order_id"], True)]

    # Paid later: still nothing leaves the shelf, and nobody is written to.
    paid = shopify_order(test=True, financial_status="paid", updated_at="2026-03-14T11:00:00+00:00")
    assert (await Channel(client).shopify(paid, topic="orders/updated")).json()["status"] == "accepted"
    assert (await operator_order(client, admin, answer["order_id"]))["status"] == "funded"
    assert await stock(sessionmaker, "NB-A5-DOT") == before
    assert await _outbox(sessionmaker) == messages
    # The operator's console says so beside the order.
    await sign_in(client)
    assert "Test order" in text_of((await client.get("/admin/orders")).text)
    assert "Test order: not booked" in text_of((await client.get(f"/admin/orders/{answer['order_id']}")).text)


async def test_the_test_header_marks_a_real_looking_order_a_test(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await stock(sessionmaker, "NB-A5-DOT")
    body = body_of(shopify_order(id=5830172049999))
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Test": "true",
        "X-Shopify-Hmac-Sha256": b64_hmac(body),
    }
    answer = (await client.post("/api/v1/intake/shopify-demo", content=body, headers=headers)).json()
    assert answer["status"] == "accepted"
    assert (await operator_order(client, admin, answer["order_id"]))["test"] is True
    assert await stock(sessionmaker, "NB-A5-DOT") == before


async def test_a_source_can_refuse_test_orders_outright(
    client: httpx.AsyncClient, admin: dict[str, str], app: FastAPI, settings: Settings
) -> None:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    configs = [
        c.model_copy(update={"rule_severity": {"channel.test_order": "block"}})
        if c.id == "shopify-demo"
        else c
        for c in demo_config().sources
    ]
    async with maker() as session, session.begin():
        await load_sources(session, await get_store(session, "demo"), configs, settings=settings)
    answer = (await Channel(client).shopify(shopify_order(test=True))).json()
    assert answer["status"] == "quarantined"
    assert answer["order_id"] is None
    assert [(i["rule"], i["severity"]) for i in answer["issues"]] == [("channel.test_order", "block")]
    assert (await client.get(f"{ADMIN}/orders", headers=admin)).json()["items"] == []
    # A real order from the same shop is booked as ever.
    assert (await Channel(client).shopify(shopify_order(id=5830172050000))).json()["status"] == "accepted"


async def test_event_subscription_headers_without_the_x_prefix_are_accepted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Shopify's event subscriptions send `Shopify-Hmac-Sha256`, `Shopify-Topic`, `Shopify-Webhook-Id`,
    `Shopify-Event-Id`, ... (Shopify/shopify-api-ruby#1437 and shopify-app-js#3129 read both)."""
    body = body_of(shopify_order())
    webhook_id = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "Shopify-Topic": "orders/create",
        "Shopify-Shop-Domain": SHOP,
        "Shopify-API-Version": "2026-10",
        "Shopify-Webhook-Id": webhook_id,
        "Shopify-Event-Id": str(uuid.uuid4()),
        "Shopify-Triggered-At": "2026-03-14T10:21:09.120Z",
        "Shopify-Hmac-Sha256": b64_hmac(body),
    }
    first = await client.post("/api/v1/intake/shopify-demo", content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    again = (await client.post("/api/v1/intake/shopify-demo", content=body, headers=headers)).json()
    assert again["status"] == "duplicate"
    forged = {**headers, "Shopify-Hmac-Sha256": b64_hmac(body, "another-secret")}
    refused = await client.post("/api/v1/intake/shopify-demo", content=body, headers=forged)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["field"] == "Shopify-Hmac-Sha256"
    # The shop is read from the un-prefixed header too.
    other = body_of(shopify_order(id=5830172050001))
    elsewhere = {
        **headers,
        "Shopify-Shop-Domain": "elsewhere.myshopify.com",
        "Shopify-Webhook-Id": str(uuid.uuid4()),
        "Shopify-Event-Id": str(uuid.uuid4()),
        "Shopify-Hmac-Sha256": b64_hmac(other),
    }
    answer = (await client.post("/api/v1/intake/shopify-demo", content=other, headers=elsewhere)).json()
    assert answer["status"] == "quarantined"
    assert [i["rule"] for i in answer["issues"]] == ["reference.store"]


async def test_test_orders_count_in_none_of_the_home_figures(client: httpx.AsyncClient) -> None:
    """The console's home counts today's orders, money and what waits: a paid test order is in none."""
    answer = (await Channel(client).shopify(shopify_order(test=True))).json()
    assert answer["status"] == "accepted"
    await sign_in(client)
    home = text_of((await client.get("/admin/home")).text)
    assert "Orders today 0" in home
    assert "Paid today €0.00" in home
    assert "Paid, to ship 0" in home
    # The same order for real is counted.
    assert (await Channel(client).shopify(shopify_order(id=5830172050002))).json()["status"] == "accepted"
    home = text_of((await client.get("/admin/home")).text)
    assert "Orders today 1" in home
    assert "Paid, to ship 1" in home
