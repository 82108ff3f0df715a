"""Bundles through the operator API: a bought-together history, proposals from it, approval."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.recommendations.helpers import place, settle

BASE = "/api/v1/stores/demo"
BUNDLES = f"{BASE}/admin/bundles"


async def history(client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]) -> None:
    """Notebooks bought with pens three times (and alone once: the notebook is the anchor), sticky
    notes with a case once: only the first pair has enough support for a proposal."""
    for _ in range(3):
        await place(client, "NB-A5-DOT", "PEN-FINE-BLK")
    await place(client, "NB-A5-DOT")
    await place(client, "STICKY-SET", "CASE-CANVAS")
    await settle(maker)


async def propose(client: httpx.AsyncClient, admin: dict[str, str], **body: Any) -> list[dict[str, Any]]:
    r = await client.post(f"{BUNDLES}/proposals", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return list(r.json()["items"])


async def approved_bundle(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    admin: dict[str, str],
    percent_off: int = 10,
) -> dict[str, Any]:
    """The notebook-with-pen bundle, proposed from history and approved at `percent_off`."""
    await history(client, maker)
    (proposal,) = await propose(client, admin, min_orders=3)
    r = await client.post(
        f"{BUNDLES}/{proposal['id']}/approve", json={"percent_off": percent_off}, headers=admin
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def cart(client: httpx.AsyncClient, items: dict[str, int], *, base: str = BASE) -> dict[str, Any]:
    r = await client.post(
        f"{base}/checkouts", json={"items": [{"sku": s, "quantity": q} for s, q in items.items()]}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def quote(client: httpx.AsyncClient, checkout_id: str, *, base: str = BASE) -> dict[str, Any]:
    r = await client.post(f"{base}/checkouts/{checkout_id}/quote")
    assert r.status_code == 200, r.text
    return dict(r.json())
