"""The worker expiring an order and a buyer reading it at the same moment: the read answers 200
with the expired order, never a 409 (PostgreSQL makes the read wait for the worker's row lock)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.orders.models import Order
from ordergate.orders.service import expire_due_order
from tests.factories import Buyer


async def test_a_read_racing_the_expiry_sweep_sees_the_expired_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await Buyer(client).order()
    clock.advance(timedelta(days=4))  # past any payment window (the demo store allows 3 days)
    async with sessionmaker() as worker:
        await worker.begin()
        order_id = (await worker.scalars(select(Order.id).where(Order.number == order["number"]))).one()
        assert await expire_due_order(worker, order_id)  # expired, not yet committed
        read = asyncio.create_task(client.get(f"/api/v1/stores/demo/orders/{order['token']}"))
        await asyncio.sleep(1.0)  # the read has loaded the order and waits for the worker's lock
        await worker.commit()
    r = await read
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "expired"
    page = await client.get(f"/s/demo/orders/{order['token']}")
    assert page.status_code == 200
