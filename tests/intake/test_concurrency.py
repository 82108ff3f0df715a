"""Deliveries arriving at the same time: one order per external order, and an update racing its
create is never lost (on PostgreSQL this runs truly in parallel)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.intake.models import IntakePayload
from ordergate.orders.models import Order
from tests.intake.channel import Channel, shopify_order

ADMIN = "/api/v1/stores/demo/admin"


async def test_the_same_delivery_at_once_is_one_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = Channel(client)
    answers = await asyncio.gather(
        *(channel.shopify(shopify_order(), webhook_id="wh-race", event_id="ev-race") for _ in range(6))
    )
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
    statuses = sorted(a.json()["status"] for a in answers)
    assert statuses == ["accepted"] + ["duplicate"] * 5
    assert len({a.json()["order_id"] for a in answers}) == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
        assert await session.scalar(select(func.count()).select_from(IntakePayload)) == 6


async def test_create_and_its_update_at_once_end_in_the_updated_state(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = Channel(client)
    for n in range(4):
        external = 880000 + n
        create = shopify_order(id=external)
        fulfilled = shopify_order(
            id=external, fulfillment_status="fulfilled", updated_at="2026-03-14T18:00:00+00:00"
        )
        created, updated = await asyncio.gather(
            channel.shopify(create), channel.shopify(fulfilled, topic="orders/fulfilled")
        )
        assert created.json()["status"] == "accepted", created.text
        # Whichever ran first, the update was applied: at once, or when the create arrived.
        order = (await client.get(f"{ADMIN}/orders/{created.json()['order_id']}", headers=admin)).json()
        assert order["status"] == "shipped", (updated.json(), order["status"])
    assert (await client.get(f"{ADMIN}/intake/quarantine", headers=admin)).json()["items"] == []
