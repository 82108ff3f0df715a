"""Guest routes read no credentials: an operator key or any cookie changes nothing, and links nobody."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.middleware import is_guest_path
from ordergate.orders.models import Order
from tests.factories import ADMIN_KEY, Buyer


async def test_credentials_change_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ambient = [
        {"Authorization": f"Bearer {ADMIN_KEY}"},
        {"Authorization": "Bearer not-a-real-key"},
        {"Cookie": "session=abc; account=1; og_csrf=t"},
    ]
    for headers in ambient:
        buyer = Buyer(client, headers=headers)
        order = await buyer.order()
        r = await client.get(f"/api/v1/stores/demo/orders/{order['token']}", headers=headers)
        assert r.status_code == 200
        assert "contact" not in r.json()
        assert "events" not in r.json()
    async with sessionmaker() as session:
        owners = (await session.scalars(select(Order.account_id))).all()
    assert owners == [None, None, None]


async def test_admin_routes_are_not_guest_routes() -> None:
    assert is_guest_path("/api/v1/stores/demo/checkouts")
    assert is_guest_path("/api/v1/stores/demo/orders/abc")
    assert is_guest_path("/s/demo/checkout/abc")
    assert not is_guest_path("/api/v1/stores/demo/admin/orders")
    assert not is_guest_path("/api/v1/intake/shopify-demo")
