"""A buyer placing orders with a chosen contact, over the public API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.factories import DELIVERY, SKU, Buyer


async def place_order(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    phone: str | None = None,
    method: str = "sandbox",
    quantity: int = 1,
    sku: str = SKU,
) -> dict[str, Any]:
    buyer = Buyer(client)
    checkout = await buyer.open(sku, quantity)
    contact: dict[str, str] = {}
    if email:
        contact["email"] = email
    if phone:
        contact["phone"] = phone
    if not contact:
        contact["email"] = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    r = await client.patch(
        f"/api/v1/stores/demo/checkouts/{checkout['id']}", json={"contact": contact, "delivery": DELIVERY}
    )
    assert r.status_code == 200, r.text
    placed = await buyer.place(checkout["id"], method=method)
    assert placed.status_code == 201, placed.text
    return dict(placed.json())
