"""A payment that arrives after the order expired is recorded and flagged, never funding by itself;
the operator can accept it, and the order is funded if its items are still in stock."""

from __future__ import annotations

from datetime import timedelta

import httpx

from ordergate import clock
from tests.console.helpers import post, sign_in, text_of
from tests.factories import Buyer

ADMIN = "/api/v1/stores/demo/admin"


async def expired_then_paid(
    client: httpx.AsyncClient, admin: dict[str, str], sku: str, quantity: int
) -> dict:
    buyer = Buyer(client)
    order = await buyer.order(sku=sku, quantity=quantity)
    clock.advance(timedelta(minutes=30))
    assert (await buyer.track(order["token"]))["status"] == "expired"
    paid = await buyer.pay(order["token"], amount=order["payment"]["amount"])
    assert paid.status_code == 201, paid.text
    view = (await client.get(f"{ADMIN}/orders/{order['number']}", headers=admin)).json()
    assert view["status"] == "expired"
    assert view["needs_attention"] is True
    return dict(order)


async def test_accepting_a_late_payment_funds_the_order(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await client.post(
        f"{ADMIN}/products",
        json={"sku": "LATE-1", "name": "Late", "price": "5.00", "on_hand": 3},
        headers=admin,
    )
    order = await expired_then_paid(client, admin, "LATE-1", 2)
    r = await client.post(f"{ADMIN}/orders/{order['number']}/accept-payment", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "funded"
    assert r.json()["needs_attention"] is False
    product = (await client.get(f"{ADMIN}/products/LATE-1", headers=admin)).json()
    assert (product["on_hand"], product["reserved"]) == (1, 0)
    moves = (await client.get(f"{ADMIN}/products/LATE-1/stock", headers=admin)).json()["movements"]
    assert [(m["kind"], m["delta"], m["reserved_delta"]) for m in moves[:2]] == [
        ("order_funded", -2, -2),
        ("order_reserved", 0, 2),
    ]
    again = await client.post(f"{ADMIN}/orders/{order['number']}/accept-payment", headers=admin)
    assert again.status_code == 409


async def test_not_without_money_nor_without_stock(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await client.post(
        f"{ADMIN}/products",
        json={"sku": "LATE-2", "name": "Late", "price": "5.00", "on_hand": 2},
        headers=admin,
    )
    unpaid = await Buyer(client).order(sku="LATE-2", quantity=1)
    clock.advance(timedelta(minutes=30))
    assert (await Buyer(client).track(unpaid["token"]))["status"] == "expired"  # its hold is released
    r = await client.post(f"{ADMIN}/orders/{unpaid['number']}/accept-payment", headers=admin)
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "payment"

    order = await expired_then_paid(client, admin, "LATE-2", 2)
    await Buyer(client).order(sku="LATE-2", quantity=1)  # someone else holds one of the two now
    r = await client.post(f"{ADMIN}/orders/{order['number']}/accept-payment", headers=admin)
    assert r.status_code == 409
    assert r.json()["type"] == "out-of-stock"

    await sign_in(client)
    page = await client.get(f"/admin/orders/{order['number']}")
    assert "Accept the late payment" in page.text
    refused = await post(client, f"/admin/orders/{order['number']}/accept-payment")
    assert refused.status_code == 409
    assert "Not enough stock of LATE-2" in text_of(refused.text)
