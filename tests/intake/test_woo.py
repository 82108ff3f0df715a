"""WooCommerce webhooks: the unsigned creation ping, created and updated orders, statuses mapped to
the state machine, signatures."""

from __future__ import annotations

import httpx

from tests.intake.channel import Channel, b64_hmac, woo_delivery_id, woo_order

ADMIN = "/api/v1/stores/demo/admin"


async def test_creation_ping_is_answered_200_and_nothing_is_stored(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/intake/woo-demo",
        content=b"webhook_id=14",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "WooCommerce/8.7.0 Hookshot (WordPress/6.5)",
        },
    )
    assert r.status_code == 200
    assert r.json() == {"status": "ping"}
    assert (await client.get(f"{ADMIN}/intake/payloads", headers=admin)).json()["items"] == []
    # The same body with a signature is a delivery, and checked as one.
    signed = await Channel(client).woo(b"webhook_id=14", signature="bm90LWl0")
    assert signed.status_code == 401


async def test_processing_order_is_funded_then_completed_ships(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = Channel(client)
    created = await channel.woo(woo_order())
    assert created.status_code == 202, created.text
    answer = created.json()
    assert answer["status"] == "accepted"
    assert answer["issues"] == []
    order = (await client.get(f"{ADMIN}/orders/{answer['order_id']}", headers=admin)).json()
    assert order["status"] == "funded"
    assert order["source"] == "woo-demo"
    assert order["totals"] == {
        "subtotal": "31.20",
        "shipping": "4.90",
        "total": "44.41",
        "currency": "EUR",
        "discount": "0.00",
        "discounts": [],
    }
    assert [(i["sku"], i["quantity"], i["unit_price"], i["line_total"]) for i in order["items"]] == [
        ("CASE-CANVAS", 1, "24.00", "24.00"),
        ("STICKY-SET", 3, "3.20", "9.60"),
    ]
    assert order["contact"] == {"email": "orders@briain-stationers.example", "phone": "+35391562187"}
    assert order["delivery"]["address_line2"] == "Rear entrance"

    completed = woo_order(status="completed", date_modified_gmt="2026-03-15T08:00:00")
    updated = (await channel.woo(completed, topic="order.updated")).json()
    assert updated["status"] == "accepted"
    assert updated["order_id"] == answer["order_id"]
    order = (await client.get(f"{ADMIN}/orders/{answer['order_id']}", headers=admin)).json()
    assert order["status"] == "shipped"
    assert order["shipments"][0]["carrier"] == "woo"

    refunded = woo_order(status="refunded", date_modified_gmt="2026-03-20T08:00:00")
    late = (await channel.woo(refunded, topic="order.updated")).json()
    assert late["status"] == "quarantined"
    assert [(i["rule"], i["owner"]) for i in late["issues"]] == [("state.transition", "channel-ops")]


async def test_pending_then_cancelled_releases_the_hold(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = Channel(client)
    before = {
        p["sku"]: p["available_quantity"]
        for p in (await client.get("/api/v1/stores/demo/products")).json()["items"]
    }
    answer = (await channel.woo(woo_order(id=9001, status="on-hold"))).json()
    assert answer["status"] == "accepted"
    held = {
        p["sku"]: p["available_quantity"]
        for p in (await client.get("/api/v1/stores/demo/products")).json()["items"]
    }
    assert held["STICKY-SET"] == before["STICKY-SET"] - 3
    order = (await client.get(f"{ADMIN}/orders/{answer['order_id']}", headers=admin)).json()
    assert order["status"] == "awaiting_payment"
    assert order["payment"] is None

    cancelled = woo_order(id=9001, status="cancelled", date_modified_gmt="2026-03-14T13:00:00")
    assert (await channel.woo(cancelled, topic="order.updated")).json()["status"] == "accepted"
    after = {
        p["sku"]: p["available_quantity"]
        for p in (await client.get("/api/v1/stores/demo/products")).json()["items"]
    }
    assert after == before
    order = (await client.get(f"{ADMIN}/orders/{answer['order_id']}", headers=admin)).json()
    assert order["status"] == "cancelled"


async def test_woo_signature_and_site_are_checked(client: httpx.AsyncClient) -> None:
    channel = Channel(client)
    body = b'{"id": 1}'
    r = await channel.woo(body, signature=b64_hmac(body, "wrong-secret"))
    assert r.status_code == 401
    assert r.json()["errors"][0]["field"] == "X-WC-Webhook-Signature"

    async def from_site(site: str) -> httpx.Response:
        payload = woo_order(id=4242)
        raw = httpx.Request("POST", "/", json=payload).content
        return await client.post(
            "/api/v1/intake/woo-demo",
            content=raw,
            headers={
                "X-WC-Webhook-Topic": "order.created",
                "X-WC-Webhook-Source": site,
                "X-WC-Webhook-Signature": b64_hmac(raw),
            },
        )

    other = (await from_site("https://another-shop.example/")).json()
    assert [(i["rule"], i["field"]) for i in other["issues"]] == [("reference.store", "X-WC-Webhook-Source")]


async def test_deleted_topic_and_unknown_status_are_quarantined(client: httpx.AsyncClient) -> None:
    channel = Channel(client)
    deleted = (await channel.woo({"id": 7315}, topic="order.deleted")).json()
    assert [(i["rule"], i["field"]) for i in deleted["issues"]] == [("payload.topic", "X-WC-Webhook-Topic")]
    odd = (await channel.woo(woo_order(status="wc-shipped-custom"))).json()
    assert [(i["rule"], i["field"]) for i in odd["issues"]] == [("payload.shape", "status")]


async def test_two_orders_in_one_second_share_a_delivery_id_and_both_are_booked(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """WooCommerce's delivery id is wp_hash(webhook id . current second): two orders sent by one
    webhook within a second carry the same id. Only the same id with the same body is a repeat."""
    channel = Channel(client)
    same_second = woo_delivery_id(at=1_773_484_869)
    first = (await channel.woo(woo_order(id=7101, number="7101"), delivery_id=same_second)).json()
    second = (await channel.woo(woo_order(id=7102, number="7102"), delivery_id=same_second)).json()
    assert first["status"] == second["status"] == "accepted"
    assert first["order_id"] != second["order_id"]

    again = (await channel.woo(woo_order(id=7102, number="7102"), delivery_id=same_second)).json()
    assert again["status"] == "duplicate"
    assert again["duplicate_of"] == second["intake_id"]
    orders = (await client.get(f"{ADMIN}/orders?source=woo-demo", headers=admin)).json()["items"]
    assert sorted(o["number"] for o in orders) == sorted([first["order_id"], second["order_id"]])
