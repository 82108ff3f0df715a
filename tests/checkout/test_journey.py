"""The whole guest journey over HTTP: discover, cart, contact, delivery, quote, order, pay, ship, complete."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.factories import DELIVERY, SKU, Buyer


async def test_store_is_discoverable(client: httpx.AsyncClient) -> None:
    store = (await client.get("/api/v1/stores/demo")).json()
    assert store["guest_checkout"] == {"available": True, "reason": None}
    assert {m["id"] for m in store["payment_methods"] if m["ready"]} == {"sandbox", "manual"}
    assert [f["name"] for f in store["delivery_fields"]] == [
        "name",
        "address_line1",
        "city",
        "postal_code",
        "country",
    ]
    products = (await client.get("/api/v1/stores/demo/products")).json()["items"]
    assert products[0]["sku"] == SKU
    assert products[0]["price"] == "14.50"
    assert products[0]["currency"] == "EUR"


async def test_whole_journey(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    buyer = Buyer(client)
    chk = await buyer.open(quantity=2)
    assert chk["missing"] == ["contact", *[f"delivery.{f}" for f in DELIVERY]]
    assert chk["totals"] == {
        "subtotal": "29.00",
        "shipping": "4.90",
        "total": "33.90",
        "currency": "EUR",
        "discount": "0.00",
        "discounts": [],
    }

    r = await client.patch(
        f"/api/v1/stores/demo/checkouts/{chk['id']}",
        json={"contact": {"phone": "030 901820", "phone_region": "DE"}, "delivery": DELIVERY},
    )
    assert r.status_code == 200
    assert r.json()["missing"] == []
    assert r.json()["contact"] == {"email": None, "phone": "+4930901820"}

    quote = (await client.post(f"/api/v1/stores/demo/checkouts/{chk['id']}/quote")).json()
    assert quote["advisory"] is True
    assert quote["reserved"] is False
    options = {o["method"]: o for o in quote["payment_options"]}
    assert options["manual"]["amount"] == "33.90"
    assert Decimal(options["sandbox"]["amount"]) == Decimal("0.00135600")  # 33.90 / 25000, rounded up

    placed = await buyer.place(chk["id"])
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "awaiting_payment"
    assert order["tracking_url"] == f"http://test/s/demo/orders/{order['token']}"
    assert placed.headers["cache-control"] == "no-store"
    pay = order["payment"]
    assert pay["asset"] == "SBX"
    assert pay["amount"] == "0.00135600"
    assert pay["required_confirmations"] == 2
    assert pay["uri"].startswith(f"sandbox:{pay['destination']}?amount=0.00135600")

    # Seen but not yet confirmed enough: still waiting.
    r = await buyer.pay(order["token"], confirmations=1)
    assert r.status_code == 201
    assert r.json()["status"] == "awaiting_payment"
    assert r.json()["payment"]["state"] == "pending"
    assert r.json()["payment"]["received_amount"] == "0.00135600"
    # The same transaction reported again with more confirmations funds the order.
    ref = (await client.get(f"/api/v1/stores/demo/admin/orders/{order['number']}", headers=admin)).json()
    tx_ref = next(e for e in ref["events"] if e["type"] == "payment_received")["data"]["reference"]
    r = await client.post(
        f"/api/v1/sandbox/stores/demo/orders/{order['token']}/payments",
        json={"confirmations": 3, "reference": tx_ref},
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "funded", r.text
    assert r.json()["payment"]["state"] == "confirmed"
    assert r.json()["payment"]["received_amount"] == "0.00135600"

    shipped = await client.post(
        f"/api/v1/stores/demo/admin/orders/{order['number']}/shipments",
        json={"carrier": "DHL", "tracking_number": "JD014600003SE", "evidence": "Label scanned at depot"},
        headers=admin,
    )
    assert shipped.status_code == 200, shipped.text
    done = await client.post(f"/api/v1/stores/demo/admin/orders/{order['number']}/complete", headers=admin)
    assert done.status_code == 200

    view = await buyer.track(order["token"])
    assert view["status"] == "completed"
    assert [m["status"] for m in view["milestones"]] == ["awaiting_payment", "funded", "shipped", "completed"]
    times = [m["reached_at"] for m in view["milestones"]]
    assert times == sorted(times)
    assert view["shipments"] == [
        {
            "carrier": "DHL",
            "tracking_number": "JD014600003SE",
            "evidence": "Label scanned at depot",
            "shipped_at": view["shipments"][0]["shipped_at"],
        }
    ]


async def test_manual_bank_transfer_is_confirmed_by_the_operator(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    order = await Buyer(client).order(method="manual")
    pay = order["payment"]
    assert pay["asset"] == "EUR"
    assert pay["destination"] == "DE89370400440532013000"
    assert pay["details"]["reference"] == order["number"]
    r = await client.post(
        f"/api/v1/stores/demo/admin/orders/{order['number']}/payments",
        json={"amount": pay["amount"], "reference": "BANK-2026-11-22-001", "confirmations": 1},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "funded"
    assert r.json()["events"][-1]["to_status"] == "funded"


async def test_tracking_view_hides_personal_data(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready(email="ada.lovelace@example.org")
    order = (await buyer.place(chk["id"])).json()
    r = await client.get(f"/api/v1/stores/demo/orders/{order['token']}")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "ada.lovelace" not in r.text
    assert "example.org" not in r.text
    assert DELIVERY["address_line1"] not in r.text
    assert DELIVERY["postal_code"] not in r.text
    assert r.json()["contact_hint"] == "a•••@e•••.org"
    assert r.json()["ship_to_country"] == "GB"
