"""Loyalty points: earned on completion under the store's rule, reversed on cancellation, earned
late by guest orders claimed later; and automatic (pending) accounts."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.accounts.loyalty import credit_order, points_for, reverse_order
from ordergate.accounts.models import Account, AccountContact, LoyaltyEntry
from ordergate.orders.models import Order
from ordergate.settings import Settings
from ordergate.stores.models import Store
from tests.accounts.helpers import claim, email, order_for


async def set_store(maker: async_sessionmaker[AsyncSession], **values: object) -> None:
    async with maker() as session, session.begin():
        store = await session.scalar(select(Store).where(Store.slug == "demo"))
        assert store is not None
        for name, value in values.items():
            setattr(store, name, value)


async def fulfil(client: httpx.AsyncClient, admin: dict[str, str], order: dict[str, object]) -> None:
    """Pay, ship and complete an order."""
    await pay(client, order)
    await ship_and_complete(client, admin, order)


async def pay(client: httpx.AsyncClient, order: dict[str, object]) -> None:
    r = await client.post(
        f"/api/v1/sandbox/stores/demo/orders/{order['token']}/payments", json={"confirmations": 6}
    )
    assert r.status_code == 201, r.text


async def ship_and_complete(
    client: httpx.AsyncClient, admin: dict[str, str], order: dict[str, object]
) -> None:
    number = order["number"]
    r = await client.post(
        f"/api/v1/stores/demo/admin/orders/{number}/shipments",
        json={"carrier": "Royal Mail", "tracking_number": "RM123"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/stores/demo/admin/orders/{number}/complete", headers=admin)
    assert r.status_code == 200, r.text


async def account_order(
    client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], settings: Settings, rule: str
) -> dict[str, object]:
    """An order of a new account (claimed with its code), in a store whose points rule is `rule`."""
    await set_store(maker, loyalty_points_per_unit=rule)
    ada = email()
    order = await order_for(client, ada)
    assert (await claim(client, maker, settings, order["token"], ada)).status_code == 201
    return order


async def entries(maker: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
    async with maker() as session:
        rows = await session.execute(select(LoyaltyEntry.kind, LoyaltyEntry.points).order_by(LoyaltyEntry.id))
        return [(k, p) for k, p in rows]


def test_points_are_the_floor_of_total_times_rule() -> None:
    assert points_for(Decimal("19.90"), Decimal("1")) == 19
    assert points_for(Decimal("19.90"), Decimal("1.5")) == 29
    assert points_for(Decimal("0.99"), Decimal("1")) == 0


async def test_points_accrue_on_completion_and_late_for_claimed_orders(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    admin: dict[str, str],
) -> None:
    await set_store(sessionmaker, loyalty_points_per_unit="2")
    ada = email()
    early = await order_for(client, ada, quantity=3)
    await fulfil(client, admin, early)  # completed as a guest: no account yet, no points yet
    assert await entries(sessionmaker) == []

    r = await claim(client, sessionmaker, settings, early["token"], ada)
    assert r.status_code == 201
    total = Decimal(early["totals"]["total"])
    assert await entries(sessionmaker) == [("earned", int(total * 2))]  # earned on claim

    later = await order_for(client, ada)
    r = await client.get("/api/v1/account/orders?store=demo")  # attaches orders placed since
    assert {o["number"] for o in r.json()["items"]} == {early["number"], later["number"]}
    await fulfil(client, admin, later)
    assert [k for k, _ in await entries(sessionmaker)] == ["earned", "earned"]

    loyalty = (await client.get("/api/v1/account/stores/demo/loyalty")).json()
    assert loyalty["balance"] == int(total * 2) + int(Decimal(later["totals"]["total"]) * 2)
    assert loyalty["points_per_unit"] == "2"
    assert len(loyalty["entries"]) == 2
    page = await client.get("/account/demo")
    assert f">{loyalty['balance']}<" in page.text

    # A cancelled order of the account earns nothing (it never completed)...
    unpaid = await order_for(client, ada)
    await client.get("/api/v1/account/orders?store=demo")
    r = await client.post(f"/api/v1/stores/demo/admin/orders/{unpaid['number']}/cancel", headers=admin)
    assert r.status_code == 200
    assert len(await entries(sessionmaker)) == 2


async def test_reversal_is_appended_once(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    admin: dict[str, str],
) -> None:
    order = await account_order(client, sessionmaker, settings, "1")
    await fulfil(client, admin, order)
    earned = await entries(sessionmaker)
    assert [k for k, _ in earned] == ["earned"]
    async with sessionmaker() as session, session.begin():
        row = await session.scalar(select(Order).where(Order.number == order["number"]))
        store = await session.scalar(select(Store).where(Store.slug == "demo"))
        assert row is not None
        assert store is not None
        await credit_order(session, row, store)  # a repeated event changes nothing
        await reverse_order(session, row)
        await reverse_order(session, row)
    assert await entries(sessionmaker) == [earned[0], ("reversed", -earned[0][1])]
    loyalty = (await client.get("/api/v1/account/stores/demo/loyalty")).json()
    assert loyalty["balance"] == 0


async def test_automatic_accounts_wait_for_verification(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    ada, bob = email(), email()
    off = await order_for(client, bob)
    await client.post(
        f"/api/v1/sandbox/stores/demo/orders/{off['token']}/payments", json={"confirmations": 6}
    )
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0  # off by default

    await set_store(sessionmaker, automatic_accounts=True)
    first = await order_for(client, ada)
    second = await order_for(client, ada)
    for o in (first, second):
        r = await client.post(
            f"/api/v1/sandbox/stores/demo/orders/{o['token']}/payments", json={"confirmations": 6}
        )
        assert r.status_code == 201
        assert r.json()["status"] == "funded"
    async with sessionmaker() as session:
        accounts = (await session.scalars(select(Account))).all()
        contacts = (await session.scalars(select(AccountContact))).all()
        owners = (await session.scalars(select(Order.account_id))).all()
    assert [a.status for a in accounts] == ["pending"]
    assert [(c.value, c.verified_at) for c in contacts] == [(ada, None)]
    assert set(owners) == {None}  # it shows nothing until verified

    r = await claim(client, sessionmaker, settings, first["token"], ada)
    assert r.status_code == 201
    assert r.json()["id"] == accounts[0].id
    assert r.json()["status"] == "active"
    assert {o["number"] for o in r.json()["orders"]} == {first["number"], second["number"]}


async def test_refunds_take_back_their_share_of_the_points(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    admin: dict[str, str],
) -> None:
    order = await account_order(client, sessionmaker, settings, "1")
    await fulfil(client, admin, order)
    total = Decimal(str(order["totals"]["total"]))
    [(kind, earned)] = await entries(sessionmaker)
    assert (kind, earned) == ("earned", points_for(total, Decimal(1)))
    refunds = f"/api/v1/stores/demo/admin/orders/{order['number']}/refunds"
    r = await client.post(refunds, json={"amount": "1.50", "reason": "scratch"}, headers=admin)
    assert r.status_code == 201
    kept = points_for(total - Decimal("1.50"), Decimal(1))
    assert await entries(sessionmaker) == [("earned", earned), ("refund1", kept - earned)]
    r = await client.post(refunds, json={"reason": "returned"}, headers=admin)
    assert r.status_code == 201
    view = (await client.get(f"/api/v1/stores/demo/admin/orders/{order['number']}", headers=admin)).json()
    assert view["status"] == "refunded"
    assert await entries(sessionmaker) == [
        ("earned", earned),
        ("refund1", kept - earned),
        ("reversed", -kept),
    ]
    home = await client.get("/account/demo")  # the claim signed the buyer in
    assert home.status_code == 200, home.text
    assert "Taken back (part of the order refunded)" in home.text
    assert "Taken back (order cancelled or refunded)" in home.text


async def test_points_earned_after_a_refund_are_on_what_was_kept(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    admin: dict[str, str],
) -> None:
    order = await account_order(client, sessionmaker, settings, "2")
    await pay(client, order)
    refunds = f"/api/v1/stores/demo/admin/orders/{order['number']}/refunds"
    r = await client.post(refunds, json={"amount": "2.00", "reason": "missing sticker"}, headers=admin)
    assert r.status_code == 201, r.text
    assert await entries(sessionmaker) == []  # nothing earned before completion
    await ship_and_complete(client, admin, order)
    total = Decimal(str(order["totals"]["total"]))
    assert await entries(sessionmaker) == [("earned", points_for(total - Decimal("2.00"), Decimal(2)))]
