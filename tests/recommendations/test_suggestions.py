"""Bought-together suggestions through the guest API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.catalog.models import Product
from ordergate.recommendations.models import ProductPair
from tests.checkout.test_sql_statements import counting
from tests.factories import ADMIN_KEY, Buyer, make_store, set_stock
from tests.recommendations.helpers import place, settle, suggested

NB, PEN, CASE, TABS = "NB-A5-DOT", "PEN-FINE-BLK", "CASE-CANVAS", "STICKY-SET"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def test_bought_together_first_normalised_so_best_sellers_do_not_crowd_out(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Tabs go with the notebook more often (4 vs 3) but sell with everything; the pen goes with
    # the notebook every time it sells. Cosine ranks the pen first; raw counts would not.
    for _ in range(4):
        await place(client, NB, TABS)
    for _ in range(10):
        await place(client, TABS)
    for _ in range(3):
        await place(client, NB, PEN)
    assert await suggested(client, NB) == []  # counted by the worker, once the orders have settled
    assert await settle(sessionmaker) == 17
    assert await settle(sessionmaker) == 0  # each event is folded once
    items = await suggested(client, NB)
    assert [(i["sku"], i["reason"]) for i in items] == [
        (PEN, "bought_together"),
        (TABS, "bought_together"),
    ]
    assert items[0]["price"] == "7.90"
    assert items[0]["currency"] == "EUR"
    # The case was never bought: with thin history it is not invented as bought together.
    assert NB not in [i["sku"] for i in await suggested(client, NB, PEN)]


async def test_never_what_is_in_the_cart_nor_out_of_stock(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await place(client, NB, PEN, CASE)
    await place(client, NB, PEN)
    await settle(sessionmaker)
    assert [i["sku"] for i in await suggested(client, NB)] == [PEN, CASE]
    assert [i["sku"] for i in await suggested(client, NB, PEN)] == [CASE]
    async with sessionmaker() as session, session.begin():
        await set_stock(session, PEN, 0)
    assert [i["sku"] for i in await suggested(client, NB)] == [CASE]


async def test_popular_fills_in_when_nothing_was_bought_together(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await place(client, TABS)
    await place(client, TABS)
    await place(client, PEN)
    await settle(sessionmaker)
    items = await suggested(client, CASE)
    assert [(i["sku"], i["reason"]) for i in items] == [(TABS, "popular"), (PEN, "popular")]


async def test_similar_by_name_and_description_without_history(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    products = [
        {
            "sku": "TEA-GREEN",
            "name": "Green tea, loose leaf",
            "description": "Sencha leaves.",
            "price": "9.00",
            "stock": 5,
        },
        {"sku": "MUG", "name": "Stoneware mug", "description": "For coffee.", "price": "12.00", "stock": 5},
        {
            "sku": "TEA-BLACK",
            "name": "Black teas sampler",
            "description": "Assam and Darjeeling leaves.",
            "price": "11.00",
            "stock": 5,
        },
    ]
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="teas", products=products)
    items = await suggested(client, "TEA-GREEN", store="teas")
    assert [(i["sku"], i["reason"]) for i in items] == [("TEA-BLACK", "similar")]


async def test_expired_and_cancelled_orders_stop_counting_refreshed_ones_count_again(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    cancelled = await place(client, NB, CASE)
    r = await client.post(f"/api/v1/stores/demo/admin/orders/{cancelled['number']}/cancel", headers=ADMIN)
    assert r.status_code == 200, r.text
    lapsed = await place(client, NB, PEN)
    await settle(sessionmaker)
    assert [i["sku"] for i in await suggested(client, NB)] == [PEN]

    clock.advance(timedelta(hours=2))  # past the payment window: the read expires it
    assert (await Buyer(client).track(lapsed["token"]))["status"] == "expired"
    await settle(sessionmaker)
    assert await suggested(client, NB) == []
    async with sessionmaker() as session:
        counts = {
            (a, b): n
            for a, b, n in (
                await session.execute(
                    select(ProductPair.product_id, ProductPair.other_id, ProductPair.orders)
                )
            )
        }
    assert counts
    assert set(counts.values()) == {0}

    r = await client.post(f"/api/v1/stores/demo/orders/{lapsed['token']}/refresh")
    assert r.status_code == 200, r.text
    await settle(sessionmaker)
    assert [(i["sku"], i["reason"]) for i in await suggested(client, NB)] == [(PEN, "bought_together")]


async def test_answers_in_two_statements_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await place(client, NB, PEN)
    await settle(sessionmaker)
    chk = (
        await client.post("/api/v1/stores/demo/checkouts", json={"items": [{"sku": NB, "quantity": 1}]})
    ).json()
    async with sessionmaker() as session:
        before = [
            (p.sku, p.price, p.on_hand, p.reserved)
            for p in await session.scalars(select(Product).order_by(Product.id))
        ]
    with counting(app) as statements:
        r = await client.get(f"/api/v1/stores/demo/checkouts/{chk['id']}/recommendations")
    assert r.status_code == 200, r.text
    assert r.json()["items"], r.text
    assert len(statements) <= 2, "\n".join(statements)
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in statements)
    async with sessionmaker() as session:
        after = [
            (p.sku, p.price, p.on_hand, p.reserved)
            for p in await session.scalars(select(Product).order_by(Product.id))
        ]
    assert after == before
    again = await client.get(f"/api/v1/stores/demo/checkouts/{chk['id']}")
    assert again.json()["items"] == chk["items"]


async def test_unknown_wrong_store_and_expired_checkouts(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other")
    chk = (
        await client.post("/api/v1/stores/demo/checkouts", json={"items": [{"sku": NB, "quantity": 1}]})
    ).json()
    for path, status, field in (
        (f"/api/v1/stores/demo/checkouts/{'x' * 32}/recommendations", 404, "checkout"),
        (f"/api/v1/stores/other/checkouts/{chk['id']}/recommendations", 404, "checkout"),
        (f"/api/v1/stores/nope/checkouts/{chk['id']}/recommendations", 404, "store"),
        (f"/api/v1/stores/demo/checkouts/{chk['id']}/recommendations?limit=0", 422, "limit"),
    ):
        r = await client.get(path)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text
    clock.advance(timedelta(days=2))
    r = await client.get(f"/api/v1/stores/demo/checkouts/{chk['id']}/recommendations")
    assert r.status_code == 410, r.text


async def test_a_fully_refunded_order_stops_counting(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await place(client, NB, PEN)
    paid = await Buyer(client).pay(order["token"])
    assert paid.status_code == 201, paid.text
    await settle(sessionmaker)
    assert [i["sku"] for i in await suggested(client, NB)] == [PEN]
    refund = await client.post(
        f"/api/v1/stores/demo/admin/orders/{order['number']}/refunds",
        headers=ADMIN,
        json={"restock": True, "reason": "returned"},
    )
    assert refund.status_code == 201, refund.text
    assert (await Buyer(client).track(order["token"]))["status"] == "refunded"
    await settle(sessionmaker)
    assert await suggested(client, NB) == []
