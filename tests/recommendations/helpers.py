"""Orders of several products placed through the public API, and the suggestions a cart gets."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.recommendations.counts import SETTLE
from ordergate.worker import run_once
from tests.factories import DELIVERY, Buyer


async def settle(maker: async_sessionmaker[AsyncSession]) -> int:
    """Let the orders' events settle, then run one worker pass: it folds them into the counts."""
    clock.advance(SETTLE + timedelta(seconds=1))
    return (await run_once(maker)).order_events_folded


async def place(client: httpx.AsyncClient, *skus: str, store: str = "demo") -> dict[str, Any]:
    """A guest order of one of each SKU."""
    buyer = Buyer(client, store)
    r = await client.post(
        f"/api/v1/stores/{store}/checkouts",
        json={
            "items": [{"sku": s, "quantity": 1} for s in skus],
            "contact": {"email": f"b-{uuid.uuid4().hex[:8]}@example.com"},
            "delivery": DELIVERY,
        },
    )
    assert r.status_code == 201, r.text
    placed = await buyer.place(r.json()["id"])
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


async def suggested(
    client: httpx.AsyncClient, *skus: str, store: str = "demo", limit: int = 3
) -> list[dict[str, Any]]:
    r = await client.post(
        f"/api/v1/stores/{store}/checkouts", json={"items": [{"sku": s, "quantity": 1} for s in skus]}
    )
    assert r.status_code == 201, r.text
    got = await client.get(
        f"/api/v1/stores/{store}/checkouts/{r.json()['id']}/recommendations", params={"limit": limit}
    )
    assert got.status_code == 200, got.text
    return list(got.json()["items"])
