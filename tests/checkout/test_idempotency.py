"""Idempotent order creation: one checkout, one order, however often and however concurrently it is placed."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.orders.models import Order
from tests.factories import Buyer


async def order_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def test_same_key_same_order(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    key = uuid.uuid4().hex
    first = await buyer.place(chk["id"], key=key)
    again = await buyer.place(chk["id"], key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    assert again.json()["token"] == first.json()["token"]  # the tracking link is handed back too


async def test_same_checkout_other_key_same_order(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    first = await buyer.place(chk["id"])
    other = await buyer.place(chk["id"])
    assert other.status_code == 200
    assert other.json()["number"] == first.json()["number"]
    view = (await client.get(f"/api/v1/stores/demo/checkouts/{chk['id']}")).json()
    assert view["status"] == "completed"
    assert view["order_number"] == first.json()["number"]
    assert view["tracking_url"] == first.json()["tracking_url"]


async def test_same_key_other_body_is_409(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    key = uuid.uuid4().hex
    assert (await buyer.place(chk["id"], key=key)).status_code == 201
    changed = await buyer.place(chk["id"], method="manual", key=key)
    assert changed.status_code == 409
    assert changed.json()["type"] == "idempotency-conflict"
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"
    other_checkout = await buyer.ready()
    reused = await buyer.place(other_checkout["id"], key=key)
    assert reused.status_code == 409


async def test_fifty_concurrent_requests_with_one_key_make_one_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    key = uuid.uuid4().hex
    results = await asyncio.gather(*(buyer.place(chk["id"], key=key) for _ in range(50)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(200) == 49, statuses
    assert len({r.json()["number"] for r in results}) == 1
    assert await order_count(sessionmaker) == 1
