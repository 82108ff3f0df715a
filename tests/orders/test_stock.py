"""Stock: quotes reserve nothing, orders reserve with one guarded UPDATE, expiry releases, funding commits,
cancellation returns, and concurrent buyers never oversell."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.catalog.models import Product
from ordergate.worker import run_once
from tests.factories import SKU, Buyer, set_stock


async def stock(sessionmaker: async_sessionmaker[AsyncSession], sku: str = SKU) -> tuple[int, int]:
    async with sessionmaker() as session:
        product = await session.scalar(select(Product).where(Product.sku == sku))
        assert product is not None
        return product.on_hand, product.reserved


async def test_quote_reserves_and_order_reserves(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, SKU, 10)
    buyer = Buyer(client)
    chk = await buyer.ready(quantity=3)
    for _ in range(2):
        q = (await client.post(f"/api/v1/stores/demo/checkouts/{chk['id']}/quote")).json()
        assert q["lines"][0]["available_quantity"] == 10
    assert await stock(sessionmaker) == (10, 0)
    assert (await buyer.place(chk["id"])).status_code == 201
    assert await stock(sessionmaker) == (10, 3)
    products = (await client.get("/api/v1/stores/demo/products")).json()["items"]
    assert next(p for p in products if p["sku"] == SKU)["available_quantity"] == 7


async def test_funding_commits_and_cancel_returns(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, SKU, 10)
    buyer = Buyer(client)
    order = await buyer.order(quantity=4)
    assert (await buyer.pay(order["token"])).json()["status"] == "funded"
    assert await stock(sessionmaker) == (6, 0)
    r = await client.post(f"/api/v1/stores/demo/admin/orders/{order['number']}/cancel", headers=admin)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert await stock(sessionmaker) == (10, 0)


async def test_unpaid_cancel_releases(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, SKU, 10)
    order = await Buyer(client).order(quantity=4)
    await client.post(
        f"/api/v1/stores/demo/admin/orders/{order['number']}/cancel",
        json={"reason": "buyer asked"},
        headers=admin,
    )
    assert await stock(sessionmaker) == (10, 0)


async def test_expiry_on_read_releases_and_refresh_reserves_again(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, SKU, 10)
    buyer = Buyer(client)
    order = await buyer.order(quantity=4)
    old = order["payment"]
    clock.advance(timedelta(seconds=901))
    view = await buyer.track(order["token"])  # a read never trusts a stale status
    assert view["status"] == "expired"
    assert view["payment"]["state"] == "expired"
    assert view["can_refresh"]
    assert await stock(sessionmaker) == (10, 0)

    r = await client.post(f"/api/v1/stores/demo/orders/{order['token']}/refresh")
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["status"] == "awaiting_payment"
    assert fresh["payment"]["state"] == "pending"
    assert fresh["payment"]["destination"] != old["destination"]
    assert fresh["payment"]["expires_at"] > old["expires_at"]
    assert await stock(sessionmaker) == (10, 4)
    statuses = [m["status"] for m in fresh["milestones"]]
    assert statuses == ["awaiting_payment", "expired"]


async def test_worker_expires_unpaid_orders(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, SKU, 10)
    await Buyer(client).order(quantity=2)
    await Buyer(client).order(quantity=3)
    assert (await run_once(sessionmaker)).orders_expired == 0
    clock.advance(timedelta(minutes=16))
    assert (await run_once(sessionmaker)).orders_expired == 2
    assert await stock(sessionmaker) == (10, 0)


async def test_refresh_without_stock_is_409(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, SKU, 5)
    buyer = Buyer(client)
    first = await buyer.order(quantity=5)
    clock.advance(timedelta(minutes=16))
    assert (await buyer.track(first["token"]))["status"] == "expired"
    second = await buyer.order(quantity=5)  # takes the stock the first one released
    assert second["status"] == "awaiting_payment"
    r = await client.post(f"/api/v1/stores/demo/orders/{first['token']}/refresh")
    assert r.status_code == 409
    assert r.json()["type"] == "out-of-stock"
    assert (await buyer.track(first["token"]))["status"] == "expired"


async def test_refresh_is_only_for_expired_orders(client: httpx.AsyncClient) -> None:
    order = await Buyer(client).order()
    r = await client.post(f"/api/v1/stores/demo/orders/{order['token']}/refresh")
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"


async def test_two_hundred_concurrent_buyers_never_oversell(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, SKU, 50)
    buyer = Buyer(client)
    checkouts = await asyncio.gather(*(buyer.ready() for _ in range(200)))
    results = await asyncio.gather(*(buyer.place(c["id"]) for c in checkouts))
    statuses = [r.status_code for r in results]
    assert statuses.count(201) == 50, sorted(statuses)
    assert statuses.count(409) == 150
    assert all(r.json()["type"] == "out-of-stock" for r in results if r.status_code == 409)
    assert await stock(sessionmaker) == (50, 50)
