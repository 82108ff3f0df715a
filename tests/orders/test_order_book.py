"""The order book an operator works from: customer, contact, items and payment method on each row,
keyset pages past 500 orders, the filtered list as CSV, and bulk work (shipments from a CSV,
unpaid orders cancelled) with each line's outcome."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.orders.models import Order
from ordergate.stores.models import Store
from tests.console.helpers import post, sign_in, text_of
from tests.factories import Buyer

API = "/api/v1/stores/demo/admin/orders"


async def test_rows_carry_customer_items_and_payment(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    order = await Buyer(client).order(quantity=3)
    r = await client.get(API, headers=admin)
    [row] = r.json()["items"]
    assert row["number"] == order["number"]
    assert (row["customer_name"], row["items_count"], row["payment_method"]) == ("Ada Lovelace", 3, "sandbox")
    assert row["email"].startswith("buyer-")
    assert r.json()["next"] is None


async def many_orders(maker: async_sessionmaker[AsyncSession], count: int) -> list[str]:
    """Orders written straight into the table (placing 600 through checkout is slow, not different)."""
    now = clock.now()
    async with maker() as session, session.begin():
        store_id = await session.scalar(select(Store.id).where(Store.slug == "demo"))
        rows = [
            {
                "store_id": store_id,
                "number": f"BK{n:02d}-{n:04d}"[:9],
                "token_hash": uuid.uuid4().hex + uuid.uuid4().hex,
                "status": "awaiting_payment",
                "currency": "EUR",
                "subtotal": Decimal("1.00"),
                "shipping": Decimal("0.00"),
                "total": Decimal("1.00"),
                "email": f"bulk{n}@example.com",
                "delivery": {"name": f"Buyer {n}"},
                "accepted_policies": [],
                "payment_method": "manual",
                "source": "web-guest",
                "needs_attention": False,
                # Every 3 share a second: the cursor must break ties by id, never skip or repeat.
                "created_at": now - timedelta(seconds=count - n // 3),
                "updated_at": now,
            }
            for n in range(count)
        ]
        await session.execute(insert(Order), rows)
    return [r["number"] for r in rows]


async def test_keyset_pages_reach_every_order_past_500(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    numbers = await many_orders(sessionmaker, 620)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"limit": "250", **({"after": after} if after else {})}
        r = await client.get(API, params=params, headers=admin)
        assert r.status_code == 200, r.text
        seen += [o["number"] for o in r.json()["items"]]
        pages += 1
        after = r.json()["next"]
        if after is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 620
    assert set(seen) == set(numbers)
    bad = await client.get(API, params={"after": "not-a-cursor"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "after"

    exported = await client.get(API, params={"format": "csv", "q": "bulk1"}, headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["email"] for r in rows} == {
        f"bulk{n}@example.com" for n in range(620) if str(n).startswith("1")
    }
    everything = await client.get(API, params={"format": "csv"}, headers=admin)
    assert len(list(csv.DictReader(io.StringIO(everything.text)))) == 620


async def test_console_pages_on_and_exports_the_filtered_list(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await many_orders(sessionmaker, 130)
    await sign_in(client)
    first = await client.get("/admin/orders")
    assert "Next 100 (older)" in first.text
    next_url = first.text.split('href="/admin/orders?after=')[1].split('"')[0]
    second = await client.get(f"/admin/orders?after={next_url}")
    assert second.status_code == 200
    assert "Next 100" not in second.text
    assert text_of(second.text).count("Buyer ") == 30
    r = await client.get("/admin/orders/export.csv", params={"q": "bulk12"})
    assert [row["number"] for row in csv.DictReader(io.StringIO(r.text))]


async def test_bulk_ship_and_cancel(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    paid = [await buyer.order() for _ in range(2)]
    for order in paid:
        await buyer.pay(order["token"])
    unpaid = await buyer.order()
    await sign_in(client)
    lines = (
        "number,carrier,tracking_number\n"
        f"{paid[0]['number']},DHL,JD0001\n"
        f"{paid[1]['number']},,JD0002\n"
        f"{unpaid['number']},DHL,JD0003\n"
        "NOPE-NOPE,DHL,JD0004\n"
    )
    r = await post(client, "/admin/orders/bulk/ship", {"shipments": lines})
    assert r.status_code == 200
    shown = text_of(r.text)
    assert "1 of 4 done" in shown
    assert "missing or too long: carrier" in shown
    assert f"{paid[1]['number']},,JD0002" in r.text  # refused lines are given back to fix
    assert f"{paid[0]['number']},DHL,JD0001" not in r.text
    assert (await buyer.track(paid[0]["token"]))["status"] == "shipped"

    r = await post(
        client, "/admin/orders/bulk/cancel", {"numbers": f"{unpaid['number']}, {paid[1]['number']}"}
    )
    shown = text_of(r.text)
    assert "1 of 2 done" in shown
    assert "it is funded, not unpaid" in shown
    assert (await buyer.track(unpaid["token"]))["status"] == "cancelled"
    empty = await post(client, "/admin/orders/bulk/cancel", {"numbers": "  "})
    assert empty.status_code == 422
    assert 'id="cancel-numbers-error"' in empty.text


async def test_the_export_says_what_was_refunded(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    order = await Buyer(client).order()
    paid = await client.post(
        f"/api/v1/sandbox/stores/demo/orders/{order['token']}/payments", json={"confirmations": 6}
    )
    assert paid.status_code == 201, paid.text
    refund = await client.post(
        f"{API}/{order['number']}/refunds", json={"amount": "1.50", "reason": "scratch"}, headers=admin
    )
    assert refund.status_code == 201, refund.text
    listed = (await client.get(API, headers=admin)).json()["items"]
    assert [(o["discount"], o["refunded"]) for o in listed if o["number"] == order["number"]] == [
        ("0.00", "1.50")
    ]
    exported = await client.get(API, params={"format": "csv"}, headers=admin)
    [row] = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["number"] == order["number"]]
    assert (row["total"], row["discount"], row["refunded"]) == (order["totals"]["total"], "0.00", "1.50")
