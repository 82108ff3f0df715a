"""The console's home (today's orders and revenue, what waits, low stock, the week's funnel) and an
order's printable packing slip and invoice."""

from __future__ import annotations

import httpx

from tests.console.helpers import sign_in, text_of
from tests.factories import Buyer


async def test_home_counts_today(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    buyer = Buyer(client)
    paid = await buyer.order(quantity=2)
    await buyer.pay(paid["token"])
    await buyer.order()  # awaiting payment
    await client.post(
        "/api/v1/stores/demo/admin/products",
        json={"sku": "LOW-1", "name": "Last few", "price": "1.00", "on_hand": 2},
        headers=admin,
    )
    await sign_in(client)
    r = await client.get("/admin")
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/home"
    page = text_of((await client.get("/admin/home")).text)
    assert "Orders today 2" in page
    assert "Paid today €33.90" in page
    assert "Awaiting payment 1" in page
    assert "Paid, to ship 1" in page
    assert "Low stock 1" in page
    assert "Last few , 2 available" in page
    assert "Guest" in page
    assert "The last 7 days" in page


async def test_packing_slip_and_invoice(client: httpx.AsyncClient) -> None:
    order = await Buyer(client).order(quantity=3)
    await sign_in(client)
    slip = await client.get(f"/admin/orders/{order['number']}/packing-slip")
    assert slip.status_code == 200
    text = text_of(slip.text)
    assert f"Packing slip · {order['number']}" in text
    assert "Ada Lovelace" in text
    assert "SW1Y 4JH" in text
    assert "NB-A5-DOT" in text
    assert "€14.50" not in text
    invoice = text_of((await client.get(f"/admin/orders/{order['number']}/invoice")).text)
    assert "Invoice" in invoice
    assert "€43.50" in invoice
    assert "Total €48.40" in invoice
    assert (await client.get("/admin/orders/NOPE-NOPE/invoice")).status_code == 404
    assert "@media print" in (await client.get("/static/console.css")).text
