"""Stores whose payment methods use the local servers, and the operator's and worker's moves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.db import make_engine, make_sessionmaker
from ordergate.payments.models import PaymentInstruction
from ordergate.payments.providers import check_payment_methods
from ordergate.settings import Settings
from ordergate.worker import run_once
from tests.factories import load_demo_store, make_store
from tests.payments.conftest import BIP84_ZPUB
from tests.payments.servers import Btcpay, Chain, Stripe

SHOP_KEY = "og_paytestkey1_" + "p" * 32
SHOP_ADMIN = {"Authorization": f"Bearer {SHOP_KEY}"}


def onchain_method(chain: Chain, **settings: Any) -> dict[str, Any]:
    values = {"xpub": BIP84_ZPUB, "esplora_url": chain.url, "rate": "50000", **settings}
    return {
        "id": "btc",
        "kind": "onchain",
        "label": "Bitcoin",
        "required_confirmations": 2,
        "settings": {k: v for k, v in values.items() if v is not None},
    }


def btcpay_method(btcpay: Btcpay, **settings: Any) -> dict[str, Any]:
    return {
        "id": "btcpay",
        "kind": "btcpay",
        "label": "Bitcoin (BTCPay)",
        "settings": {
            "url": btcpay.url,
            "store_id": btcpay.store_id,
            "api_key": btcpay.api_key,
            "webhook_secret": btcpay.webhook_secret,
            **settings,
        },
    }


def stripe_method(stripe: Stripe, **settings: Any) -> dict[str, Any]:
    return {
        "id": "card",
        "kind": "stripe",
        "label": "Card",
        "settings": {
            "secret_key": stripe.secret_key,
            "webhook_secret": stripe.webhook_secret,
            "publishable_key": "pk_test_51OrderGateLocal",
            "api_url": stripe.url,
            **settings,
        },
    }


async def shop(
    maker: async_sessionmaker[AsyncSession],
    methods: list[dict[str, Any]],
    *,
    slug: str = "shop",
    **store: Any,
) -> None:
    """A store with these payment methods (and an operator key), probed as the app does at start."""
    async with maker() as session, session.begin():
        await make_store(session, slug=slug, key=SHOP_KEY, payment_methods=methods, **store)
    await check_payment_methods(maker)


async def instructions(maker: async_sessionmaker[AsyncSession], number: str) -> list[PaymentInstruction]:
    from ordergate.orders.models import Order

    async with maker() as session:
        order_id = await session.scalar(select(Order.id).where(Order.number == number))
        rows = await session.scalars(
            select(PaymentInstruction)
            .where(PaymentInstruction.order_id == order_id)
            .order_by(PaymentInstruction.id)
        )
        return list(rows)


async def worker_pass(
    maker: async_sessionmaker[AsyncSession], *, after: timedelta = timedelta(seconds=11)
) -> None:
    """Let time pass (the worker's polling interval by default), then run one worker pass."""
    clock.advance(after)
    await run_once(maker)


async def operator_order(client: httpx.AsyncClient, number: str, slug: str = "shop") -> dict[str, Any]:
    r = await client.get(f"/api/v1/stores/{slug}/admin/orders/{number}", headers=SHOP_ADMIN)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def attention(client: httpx.AsyncClient, slug: str = "shop") -> dict[str, str | None]:
    r = await client.get(
        f"/api/v1/stores/{slug}/admin/orders", params={"attention": "true"}, headers=SHOP_ADMIN
    )
    assert r.status_code == 200, r.text
    return {o["number"]: o["attention_reason"] for o in r.json()["items"]}


async def callback(
    client: httpx.AsyncClient, provider: str, signed: tuple[bytes, dict[str, str]]
) -> httpx.Response:
    body, headers = signed
    return await client.post(f"/api/v1/webhooks/payments/{provider}", content=body, headers=headers)


async def prepared(client: httpx.AsyncClient, token: str, slug: str = "shop") -> dict[str, Any]:
    r = await client.post(f"/api/v1/stores/{slug}/orders/{token}/payment-instruction")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def demo_and_card_shop(settings: Settings, stripe: Stripe) -> None:
    """On settings' (migrated) database: the demo store, and `shop` taking cards through `stripe`."""
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await load_demo_store(session)
            await make_store(session, slug="shop", key=SHOP_KEY, payment_methods=[stripe_method(stripe)])
    finally:
        await engine.dispose()
