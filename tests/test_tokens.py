"""Order tokens: at least 128 random bits, stored only as SHA-256, looked up by hash, bound to their store."""

from __future__ import annotations

import itertools

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.orders.models import Order
from ordergate.security import hash_token
from tests.factories import Buyer, make_store


async def test_token_is_stored_only_hashed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await Buyer(client).order()
    token = order["token"]
    assert len(token) >= 22
    assert token not in order["number"]
    async with sessionmaker() as session:
        row = await session.scalar(select(Order))
        assert row is not None
        stored = " ".join(str(getattr(row, c.key)) for c in Order.__table__.columns)
    assert token not in stored
    assert row.token_hash == hash_token(token)


async def test_wrong_store_or_token_is_404(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other")
    order = await Buyer(client).order()
    assert (await client.get(f"/api/v1/stores/other/orders/{order['token']}")).status_code == 404
    token = order["token"]
    wrong = token[:-1] + ("x" if token[-1] != "x" else "y")  # one character off, never the token itself
    r = await client.get(f"/api/v1/stores/demo/orders/{wrong}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


async def test_numbers_are_not_sequential(client: httpx.AsyncClient) -> None:
    numbers = [(await Buyer(client).order())["number"] for _ in range(6)]
    assert len(set(numbers)) == 6
    # Consecutive orders share no long prefix: nothing to count up from.
    assert all(a[:4] != b[:4] for a, b in itertools.pairwise(numbers))
