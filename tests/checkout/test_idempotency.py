"""Idempotent order creation: one checkout, one order, however often and however concurrently it is placed."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import security
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


async def test_a_placed_checkout_id_leads_neither_to_the_order_nor_to_the_buyer(
    client: httpx.AsyncClient,
) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    first = await buyer.place(chk["id"])
    assert first.status_code == 201
    token = first.json()["token"]
    # Whoever holds only the checkout id (a resume link, an assistant) cannot work out the token...
    assert token != security.legacy_order_token_for_checkout(chk["id"])
    # ...nor get it or the buyer's details from the API: placing it again names the same order (API.md:
    # the same checkout completed again is 200 with the same order), without its link or contact.
    other = await buyer.place(chk["id"])  # another Idempotency-Key
    assert other.status_code == 200
    assert other.json()["number"] == first.json()["number"]
    assert other.json()["token"] is None
    assert other.json()["tracking_url"] is None
    assert other.json()["contact_hint"] is None
    assert token not in other.text
    no_key = await client.post(
        f"/api/v1/stores/demo/checkouts/{chk['id']}/orders",
        json={"payment_method": "sandbox", "accepted_policies": await buyer.policies()},
    )
    assert no_key.status_code == 200
    assert no_key.json()["number"] == first.json()["number"]
    assert token not in no_key.text
    view = await client.get(f"/api/v1/stores/demo/checkouts/{chk['id']}")
    assert view.status_code == 410
    assert view.json()["type"] == "checkout-placed"
    for secret in (token, "Ada", "example.com"):
        assert secret not in view.text
    page = await client.get(f"/s/demo/checkout/{chk['id']}")
    assert page.status_code == 410
    assert token not in page.text
    assert "example.com" not in page.text


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
