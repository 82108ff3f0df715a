"""The audit log: every operator action through the admin API and the console leaves one row
(who, what, when, from where) in the action's own transaction; a refused action leaves none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import security
from ordergate.audit.models import AuditEntry
from ordergate.audit.service import Actor, entries
from ordergate.intake.sources import load_sources
from ordergate.settings import Settings
from ordergate.stores.service import get_store
from tests.console.helpers import post, sign_in
from tests.factories import ADMIN_KEY, Buyer, demo_config

ADMIN = "/api/v1/stores/demo/admin"
KEY_ACTOR = f"key {security.operator_key_id(ADMIN_KEY)}"


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
        yield c


async def _log(maker: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    async with maker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def test_admin_api_actions_are_audited_with_key_and_address(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with sessionmaker() as session, session.begin():
        store = await get_store(session, "demo")
        await load_sources(session, store, demo_config().sources, settings=settings)
    async with client_at(app, "203.0.113.5") as client:
        buyer = Buyer(client)
        order = await buyer.order()
        before = len(await _log(sessionmaker))
        number = order["number"]
        # Refused (not paid yet): nothing happened, so nothing is in the log.
        ship = {"carrier": "DHL", "tracking_number": "T1"}
        r = await client.post(f"{ADMIN}/orders/{number}/shipments", json=ship, headers=admin)
        assert r.status_code == 409
        assert len(await _log(sessionmaker)) == before
        await buyer.pay(order["token"])
        r = await client.post(
            f"{ADMIN}/orders/{number}/shipments",
            json={"carrier": "DHL", "tracking_number": "T1"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert r.json()["events"][-1]["actor"] == KEY_ACTOR  # the order's history names the same actor
        r = await client.post(
            f"{ADMIN}/orders/{number}/refunds", json={"amount": "1.00", "reason": "dent"}, headers=admin
        )
        assert r.status_code == 201, r.text
        r = await client.post(
            f"{ADMIN}/products/PEN-FINE-BLK/stock", json={"delta": 5, "reason": "found a box"}, headers=admin
        )
        assert r.status_code == 200, r.text
        mapping = {"external_sku": "SHOP-1", "sku": "PEN-FINE-BLK"}
        r = await client.put(f"{ADMIN}/intake/sources/shopify-demo/sku-mappings", json=mapping, headers=admin)
        assert r.status_code == 200, r.text
    rows = (await _log(sessionmaker))[before:]
    assert [(e.action, e.target) for e in rows] == [
        ("order.ship", number),
        ("refund.create", number),
        ("stock.change", "PEN-FINE-BLK"),
        ("intake.map_sku", "shopify-demo:SHOP-1"),
    ]
    assert {(e.actor, e.actor_kind, e.address) for e in rows} == {(KEY_ACTOR, "key", "203.0.113.5")}
    assert rows[0].detail == {"carrier": "DHL", "tracking_number": "T1"}
    assert rows[1].detail["amount"] == "1.00"
    assert rows[2].detail["delta"] == 5
    assert ADMIN_KEY not in repr([e.detail for e in rows])


async def test_console_actions_name_the_same_actor(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await Buyer(client).order()
    assert (await sign_in(client)).status_code == 303
    number = order["number"]
    r = await post(client, f"/admin/orders/{number}/cancel", {"reason": "asked by phone"})
    assert r.status_code == 303, r.text
    r = await post(client, "/admin/keys", {"label": "till"})
    assert r.status_code in (200, 303), r.text
    rows = await _log(sessionmaker)
    cancel = [e for e in rows if e.action == "order.cancel"]
    assert [(e.target, e.actor, e.actor_kind, e.detail) for e in cancel] == [
        (number, KEY_ACTOR, "key", {"reason": "asked by phone"})
    ]
    assert cancel[0].address == "127.0.0.1"
    created = [e for e in rows if e.action == "key.create" and e.actor == KEY_ACTOR]
    assert len(created) == 1
    assert created[0].detail == {"label": "till"}


async def test_keyset_pages_and_filters(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        store = await get_store(session, "demo")
        ada = Actor.for_staff("ada@shop.example", "192.0.2.1")
        for n in range(7):
            await ada.record(session, store_id=store.id, action="order.ship", target=f"N{n}")
        await Actor.system("cli").record(
            session, store_id=store.id, action="stock.change", target="PEN-FINE-BLK"
        )
    async with sessionmaker() as session:
        seen: list[str] = []
        before = None
        while True:
            page = await entries(session, store_id=store.id, actor="ada@shop.example", before=before, limit=3)
            seen += [e.target for e in page.entries]
            if page.next_before is None:
                break
            before = page.next_before
        assert seen == [f"N{n}" for n in reversed(range(7))]
        only = await entries(session, store_id=store.id, action="stock")
        assert [e.actor for e in only.entries] == ["cli"]
        assert (await entries(session, store_id=store.id, action="order.ship", limit=50)).next_before is None
