"""Guessing is throttled per client: unknown order tokens and checkout ids (API and pages), and
operator API keys with a wrong secret. Real lookups never count."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.stores.models import OperatorKey
from tests.factories import ADMIN_KEY, Buyer

BASE = "/api/v1/stores/demo"


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
        yield c


@pytest.mark.usefixtures("fresh_rate_windows")
async def test_unknown_tokens_are_throttled_before_the_300th_lookup(app: FastAPI) -> None:
    async with client_at(app, "198.51.100.7") as guesser, client_at(app, "198.51.100.8") as buyer_client:
        order = await Buyer(buyer_client).order()
        statuses = []
        for n in range(300):
            path = (
                f"{BASE}/orders/{secrets.token_urlsafe(24)}"
                if n % 3 == 0
                else f"{BASE}/checkouts/{secrets.token_urlsafe(24)}"
                if n % 3 == 1
                else f"/s/demo/orders/{secrets.token_urlsafe(24)}"
            )
            r = await guesser.get(path)
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
        assert statuses[-1] == 429, f"no 429 after {len(statuses)} guesses"
        assert len(statuses) < 300
        assert set(statuses[:-1]) == {404}
        assert 0 < int(r.headers["retry-after"]) <= 600
        assert r.headers["content-type"] == "application/problem+json"
        # Blocked now even for a real token: a guess that hit would say so otherwise.
        assert (await guesser.get(f"{BASE}/orders/{order['token']}")).status_code == 429
        # Other clients are not affected; a buyer reloading a real tracking page is never limited.
        for _ in range(300):
            assert (await buyer_client.get(f"{BASE}/orders/{order['token']}")).status_code == 200
        assert (await buyer_client.get(f"/s/demo/orders/{order['token']}")).status_code == 200


@pytest.mark.usefixtures("fresh_rate_windows")
async def test_wrong_api_key_secrets_are_throttled(app: FastAPI) -> None:
    wrong = {"Authorization": f"Bearer {ADMIN_KEY[:-6]}zzzzzz"}  # the right key id, a wrong secret
    async with client_at(app, "198.51.100.9") as guesser, client_at(app, "198.51.100.10") as operator:
        statuses = []
        for _ in range(300):
            statuses.append((await guesser.get(f"{BASE}/admin/orders", headers=wrong)).status_code)
            if statuses[-1] == 429:
                break
        assert statuses[-1] == 429
        assert set(statuses[:-1]) == {401}
        assert len(statuses) < 300
        right = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert (await guesser.get(f"{BASE}/admin/orders", headers=right)).status_code == 429
        assert (await operator.get(f"{BASE}/admin/orders", headers=right)).status_code == 200


async def test_argon2_hashes_of_generated_keys_become_keyed_hashes_on_use(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    # A key stored by an earlier version: argon2.
    async with sessionmaker() as session, session.begin():
        await session.execute(update(OperatorKey).values(key_hash=PasswordHasher().hash(ADMIN_KEY)))
    assert (await client.get(f"{BASE}/admin/orders", headers=admin)).status_code == 200
    async with sessionmaker() as session:
        stored = (await session.scalars(select(OperatorKey.key_hash))).one()
    assert stored.startswith("hmac-sha256$")
    assert ADMIN_KEY not in stored
    assert (await client.get(f"{BASE}/admin/orders", headers=admin)).status_code == 200
    wrong = {"Authorization": f"Bearer {ADMIN_KEY}x"}
    assert (await client.get(f"{BASE}/admin/orders", headers=wrong)).status_code == 401
