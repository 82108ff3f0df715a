"""Typed factories and a buyer that walks the public API, shared by the tests."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

import ordergate
from ordergate.audit.service import Actor
from ordergate.stores.models import Store
from ordergate.stores.schemas import StoreConfig
from ordergate.stores.service import add_operator_key, load_store_config

ADMIN_KEY = "og_testkey001_" + "k" * 32
DEMO_FILE = Path(ordergate.__file__).parent / "stores" / "demo.toml"
DELIVERY = {
    "name": "Ada Lovelace",
    "address_line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
SKU = "NB-A5-DOT"


def demo_config(**overrides: Any) -> StoreConfig:
    raw = tomllib.loads(DEMO_FILE.read_text())
    raw.update(overrides)
    return StoreConfig.model_validate(raw)


async def load_demo_store(session: AsyncSession) -> Store:
    store = await load_store_config(session, demo_config())
    await add_operator_key(session, store, key=ADMIN_KEY, label="tests", actor=Actor.system("tests"))
    return store


async def make_store(
    session: AsyncSession, *, slug: str = "other", key: str | None = None, **overrides: Any
) -> Store:
    """Another store shaped like the demo, with any field changed; optionally with an operator key."""
    store = await load_store_config(session, demo_config(slug=slug, **overrides))
    if key:
        await add_operator_key(session, store, key=key, label="tests", actor=Actor.system("tests"))
    await session.flush()
    return store


async def set_stock(session: AsyncSession, sku: str, on_hand: int, store_slug: str = "demo") -> None:
    from sqlalchemy import select, update

    from ordergate.catalog.models import Product

    store_id = await session.scalar(select(Store.id).where(Store.slug == store_slug))
    await session.execute(
        update(Product)
        .where(Product.store_id == store_id, Product.sku == sku)
        .values(on_hand=on_hand, reserved=0)
    )


class Buyer:
    """A guest walking through checkout with the public HTTP API only."""

    def __init__(self, client: httpx.AsyncClient, store: str = "demo", headers: dict[str, str] | None = None):
        self.c, self.store, self.h = client, store, headers or {}
        self.base = f"/api/v1/stores/{store}"

    async def open(self, sku: str = SKU, quantity: int = 1, **extra: Any) -> dict[str, Any]:
        r = await self.c.post(
            f"{self.base}/checkouts",
            json={"items": [{"sku": sku, "quantity": quantity}], **extra},
            headers=self.h,
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def ready(self, sku: str = SKU, quantity: int = 1, email: str | None = None) -> dict[str, Any]:
        chk = await self.open(sku, quantity)
        r = await self.c.patch(
            f"{self.base}/checkouts/{chk['id']}",
            json={
                "contact": {"email": email or f"buyer-{uuid.uuid4().hex[:8]}@example.com"},
                "delivery": DELIVERY,
            },
            headers=self.h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["missing"] == [], r.json()
        return dict(r.json())

    async def policies(self) -> list[str]:
        store = (await self.c.get(self.base)).json()
        return [f"{p['id']}@{p['version']}" for p in store["policies"]]

    async def place(
        self, checkout_id: str, method: str = "sandbox", key: str | None = None
    ) -> httpx.Response:
        return await self.c.post(
            f"{self.base}/checkouts/{checkout_id}/orders",
            json={"payment_method": method, "accepted_policies": await self.policies()},
            headers={**self.h, "Idempotency-Key": key or uuid.uuid4().hex},
        )

    async def order(self, sku: str = SKU, quantity: int = 1, method: str = "sandbox") -> dict[str, Any]:
        r = await self.place((await self.ready(sku, quantity))["id"], method=method)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def pay(self, token: str, amount: str | None = None, confirmations: int = 2) -> httpx.Response:
        body: dict[str, Any] = {"confirmations": confirmations}
        if amount is not None:
            body["amount"] = amount
        return await self.c.post(f"/api/v1/sandbox/stores/{self.store}/orders/{token}/payments", json=body)

    async def track(self, token: str) -> dict[str, Any]:
        r = await self.c.get(f"{self.base}/orders/{token}")
        assert r.status_code == 200, r.text
        return dict(r.json())
