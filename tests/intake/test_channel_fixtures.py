"""Every Shopify and WooCommerce topic we handle, with realistic payloads (fixtures/SOURCES.md):
taxes included and excluded, discounts, several shipping lines, fees, a line without SKU, 18-digit
ids and `phone: null`."""

from __future__ import annotations

from typing import Any

import httpx

from tests.intake.channel import Channel, fixture

ADMIN = "/api/v1/stores/demo/admin"


async def _order(client: httpx.AsyncClient, admin: dict[str, str], number: str) -> dict[str, Any]:
    r = await client.get(f"{ADMIN}/orders/{number}", headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _map_and_replay(
    client: httpx.AsyncClient, admin: dict[str, str], source: str, external: str, sku: str, intake_id: str
) -> dict[str, Any]:
    mapping = {"external_sku": external, "sku": sku}
    r = await client.put(f"{ADMIN}/intake/sources/{source}/sku-mappings", json=mapping, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.post(f"{ADMIN}/intake/payloads/{intake_id}/replay", json={}, headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_shopify_taxes_excluded_discount_shipping_lines_no_sku_18_digit_ids_null_phone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = (await Channel(client).shopify(fixture("shopify_orders_create_tax_excluded.json"))).json()
    # The line without SKU is known only by its variant: held until someone says what it is.
    assert answer["status"] == "quarantined"
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("completeness.required", "lines[1].sku")]
    assert "variant:808950810563749871" in answer["issues"][0]["message"]

    replayed = await _map_and_replay(
        client, admin, "shopify-demo", "variant:808950810563749871", "STICKY-SET", answer["intake_id"]
    )
    assert replayed["status"] == "accepted", replayed
    order = await _order(client, admin, replayed["order_id"])
    assert order["external_id"] == "820982911946154508"  # all 18 digits, never through a float
    assert order["status"] == "awaiting_payment"  # financial_status pending (bank deposit)
    # Taxes excluded: added on top; the 10 % code comes off the lines; both shipping lines count.
    assert order["totals"] == {
        "subtotal": "24.60",
        "shipping": "7.00",
        "total": "38.87",
        "currency": "EUR",
        "discount": "0.00",
        "discounts": [],
    }
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in order["items"]] == [
        ("NB-A5-DOT", 2, "12.00"),
        ("STICKY-SET", 1, "3.00"),
    ]
    assert order["contact"] == {"email": "liam.kavanagh@example.ie", "phone": None}
    [created] = [e for e in order["events"] if e["type"] == "status"][:1]
    assert created["data"]["tax"] == "7.27"
    assert created["data"]["name"] == "#1043"


async def test_shopify_updated_then_fulfilled(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    channel = Channel(client)
    created = (await channel.shopify(fixture("shopify_orders_create.json"))).json()
    assert created["status"] == "accepted"
    updated = await channel.shopify(fixture("shopify_orders_updated.json"), topic="orders/updated")
    assert updated.json()["status"] == "accepted"
    assert updated.json()["order_id"] == created["order_id"]
    order = await _order(client, admin, created["order_id"])
    assert order["status"] == "funded"
    assert order["events"][-1]["type"] == "channel_update"

    fulfilled = await channel.shopify(fixture("shopify_orders_fulfilled.json"), topic="orders/fulfilled")
    assert fulfilled.json()["status"] == "accepted"
    order = await _order(client, admin, created["order_id"])
    assert order["status"] == "shipped"
    assert [(s["carrier"], s["tracking_number"]) for s in order["shipments"]] == [
        ("An Post", "CE123456789IE")
    ]


async def test_shopify_cancelled_before_payment(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    channel = Channel(client)
    pending = fixture("shopify_orders_create.json") | {"financial_status": "pending"}
    created = (await channel.shopify(pending)).json()
    assert (await _order(client, admin, created["order_id"]))["status"] == "awaiting_payment"
    cancelled = await channel.shopify(fixture("shopify_orders_cancelled.json"), topic="orders/cancelled")
    assert cancelled.json()["status"] == "accepted"
    assert (await _order(client, admin, created["order_id"]))["status"] == "cancelled"


async def test_woo_prices_including_tax_with_a_fee_and_a_product_without_sku(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = (await Channel(client).woo(fixture("woo_order_created_prices_include_tax.json"))).json()
    assert answer["status"] == "quarantined"
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("completeness.required", "lines[1].sku")]
    replayed = await _map_and_replay(
        client, admin, "woo-demo", "product:455", "STICKY-SET", answer["intake_id"]
    )
    assert replayed["status"] == "accepted", replayed
    order = await _order(client, admin, replayed["order_id"])
    assert order["status"] == "funded"
    assert order["external_id"] == "7402"
    # Net subtotals, shipping plus the fee, and the tax WooCommerce reports beside them.
    assert order["totals"] == {
        "subtotal": "21.95",
        "shipping": "5.61",
        "total": "33.90",
        "currency": "EUR",
        "discount": "0.00",
        "discounts": [],
    }
    assert order["contact"] == {"email": "aoife.nd@example.ie", "phone": None}  # "" is no phone


async def test_woo_updated_to_completed_ships(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    channel = Channel(client)
    created = (await channel.woo(fixture("woo_order_created.json"))).json()
    assert created["status"] == "accepted"
    updated = (await channel.woo(fixture("woo_order_updated.json"), topic="order.updated")).json()
    assert updated["status"] == "accepted"
    assert updated["order_id"] == created["order_id"]
    assert (await _order(client, admin, created["order_id"]))["status"] == "shipped"
