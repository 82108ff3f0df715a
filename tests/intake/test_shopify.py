"""Shopify webhooks through the whole flow: one order model, duplicates, order of arrival, illegal
moves, missing and unknown SKUs, money, signatures, size, encoding."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.catalog.models import Product
from ordergate.orders.models import Order
from tests.factories import set_stock
from tests.intake.channel import Channel, b64_hmac, shopify_order

ADMIN = "/api/v1/stores/demo/admin"


async def operator_order(client: httpx.AsyncClient, admin: dict[str, str], number: str) -> dict[str, Any]:
    r = await client.get(f"{ADMIN}/orders/{number}", headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def stock(sessionmaker: async_sessionmaker[AsyncSession], sku: str) -> tuple[int, int]:
    async with sessionmaker() as session:
        product = await session.scalar(select(Product).where(Product.sku == sku))
        assert product is not None
        return product.on_hand, product.reserved


async def test_paid_create_lands_funded_in_the_one_order_model(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    before = await stock(sessionmaker, "NB-A5-DOT")
    r = await Channel(client).shopify(shopify_order())
    assert r.status_code == 202, r.text
    result = r.json()
    assert result["status"] == "accepted"
    assert result["issues"] == []
    assert result["intake_id"].startswith("in_")

    order = await operator_order(client, admin, result["order_id"])
    assert order["status"] == "funded"
    assert order["source"] == "shopify-demo"
    assert order["external_id"] == "5830172049481"
    assert [m["status"] for m in order["milestones"]] == ["awaiting_payment", "funded"]
    assert order["totals"] == {
        "subtotal": "36.90",
        "shipping": "4.90",
        "total": "41.80",
        "currency": "EUR",
        "discount": "0.00",
        "discounts": [],
    }
    assert [(i["sku"], i["quantity"], i["unit_price"]) for i in order["items"]] == [
        ("NB-A5-DOT", 2, "14.50"),  # FN-NOTEBOOK-A5-DOT, mapped in the store file
        ("PEN-FINE-BLK", 1, "7.90"),
    ]
    assert order["contact"] == {"email": "maeve.byrne@example.ie", "phone": "+35315550142"}
    assert order["delivery"]["postal_code"] == "D02 WK81"
    assert order["delivery"]["country"] == "IE"
    assert order["payment"] is None
    assert order["needs_attention"] is False
    # Funded: the units left the shelf, exactly as a paid guest order's do.
    assert await stock(sessionmaker, "NB-A5-DOT") == (before[0] - 2, before[1])

    listed = (await client.get(f"{ADMIN}/orders?status=funded", headers=admin)).json()["items"]
    assert [o["source"] for o in listed] == ["shopify-demo"]
    async with sessionmaker() as session:
        row = await session.scalar(select(Order).where(Order.number == result["order_id"]))
        assert row is not None
        assert row.external_id == "5830172049481"
        assert row.checkout_hash is None


async def test_duplicate_deliveries_make_one_order(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    channel = Channel(client)
    first = (await channel.shopify(shopify_order(), webhook_id="wh-1", event_id="ev-1")).json()
    # Shopify retries with the same webhook id; the same event may come through another subscription.
    retry = (await channel.shopify(shopify_order(), webhook_id="wh-1", event_id="ev-1")).json()
    again = (await channel.shopify(shopify_order(), webhook_id="wh-2", event_id="ev-1")).json()
    for answer in (retry, again):
        assert answer["status"] == "duplicate"
        assert answer["order_id"] == first["order_id"]
        assert answer["duplicate_of"] == first["intake_id"]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
    dupes = (await client.get(f"{ADMIN}/intake/payloads?status=duplicate", headers=admin)).json()["items"]
    assert len(dupes) == 2
    assert all(d["duplicate_of"] == first["intake_id"] for d in dupes)
    # One action can be news on another topic under the same event id: never taken for a repeat.
    paid = shopify_order(financial_status="paid", updated_at="2026-03-14T11:00:00+00:00")
    update = (await channel.shopify(paid, topic="orders/updated", webhook_id="wh-3", event_id="ev-1")).json()
    assert update["status"] == "accepted"


async def test_update_before_create_is_held_then_applied(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = Channel(client)
    fulfilled = shopify_order(
        fulfillment_status="fulfilled",
        updated_at="2026-03-14T16:02:11+00:00",
        fulfillments=[
            {
                "id": 5120448893001,
                "status": "success",
                "tracking_company": "An Post",
                "tracking_number": "CE123456789IE",
                "created_at": "2026-03-14T16:02:10+00:00",
            }
        ],
    )
    early = await channel.shopify(fulfilled, topic="orders/fulfilled")
    assert early.status_code == 202
    held = early.json()
    assert held["status"] == "quarantined"
    assert held["held"] is True
    assert held["order_id"] is None
    assert [(i["rule"], i["severity"], i["owner"]) for i in held["issues"]] == [
        ("state.awaiting_create", "hold", "channel-ops")
    ]
    waiting = (await client.get(f"{ADMIN}/intake/quarantine", headers=admin)).json()["items"]
    assert [(w["intake_id"], w["status"]) for w in waiting] == [(held["intake_id"], "held")]

    created = (await channel.shopify(shopify_order())).json()
    assert created["status"] == "accepted"
    order = await operator_order(client, admin, created["order_id"])
    assert order["status"] == "shipped"
    assert [m["status"] for m in order["milestones"]] == ["awaiting_payment", "funded", "shipped"]
    assert order["shipments"][0]["carrier"] == "An Post"
    assert order["shipments"][0]["tracking_number"] == "CE123456789IE"
    assert (await client.get(f"{ADMIN}/intake/quarantine", headers=admin)).json()["items"] == []
    detail = (await client.get(f"{ADMIN}/intake/payloads/{held['intake_id']}", headers=admin)).json()
    assert detail["status"] == "accepted"
    assert detail["order_id"] == created["order_id"]
    assert [a["outcome"] for a in detail["history"]] == ["held", "accepted"]
    assert detail["history"][1]["actor"] == f"create {created['intake_id']}"


async def test_cancel_after_fulfilment_is_quarantined_by_the_state_rule(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = Channel(client)
    created = (await channel.shopify(shopify_order())).json()
    shipped = await channel.shopify(
        shopify_order(fulfillment_status="fulfilled", updated_at="2026-03-15T09:00:00+00:00"),
        topic="orders/fulfilled",
    )
    assert shipped.json()["status"] == "accepted"
    cancel = await channel.shopify(
        shopify_order(
            fulfillment_status="fulfilled",
            cancelled_at="2026-03-16T11:30:00+00:00",
            cancel_reason="customer",
            financial_status="refunded",
            updated_at="2026-03-16T11:30:00+00:00",
        ),
        topic="orders/cancelled",
    )
    answer = cancel.json()
    assert answer["status"] == "quarantined"
    assert answer["held"] is False
    assert [(i["rule"], i["owner"], i["field"]) for i in answer["issues"]] == [
        ("state.transition", "channel-ops", "status")
    ]
    assert "shipped" in answer["issues"][0]["message"]
    order = await operator_order(client, admin, created["order_id"])
    assert order["status"] == "shipped"  # untouched

    # An older update arriving late changes nothing and says so.
    late = await channel.shopify(
        shopify_order(financial_status="pending", updated_at="2026-03-14T10:25:00+00:00"),
        topic="orders/updated",
    )
    assert late.json()["status"] == "accepted"
    assert [(i["rule"], i["severity"]) for i in late.json()["issues"]] == [("state.stale", "warn")]
    assert (await operator_order(client, admin, created["order_id"]))["status"] == "shipped"


async def test_missing_sku_is_fixed_by_a_mapping_and_replay(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    order = shopify_order()
    order["line_items"][1]["sku"] = None  # a product sold on Shopify without a SKU
    answer = (await Channel(client).shopify(order)).json()
    assert answer["status"] == "quarantined"
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("completeness.required", "lines[1].sku")]
    assert "variant:44870112575305" in answer["issues"][0]["message"]

    replay = f"{ADMIN}/intake/payloads/{answer['intake_id']}/replay"
    unchanged = (await client.post(replay, headers=admin)).json()
    assert unchanged["status"] == "quarantined"
    assert unchanged["replayed"] is True

    mapping = {"external_sku": "variant:44870112575305", "sku": "PEN-FINE-BLK"}
    r = await client.put(f"{ADMIN}/intake/sources/shopify-demo/sku-mappings", json=mapping, headers=admin)
    assert r.status_code == 200
    assert r.json()["origin"] == "operator"
    fixed = (await client.post(replay, json={"note": "mapped the fine liner variant"}, headers=admin)).json()
    assert fixed["status"] == "accepted"
    assert fixed["replayed"] is True
    assert fixed["order_id"]
    view = await operator_order(client, admin, fixed["order_id"])
    assert [i["sku"] for i in view["items"]] == ["NB-A5-DOT", "PEN-FINE-BLK"]

    # Idempotent: replaying a settled payload does nothing, and says so.
    again = (await client.post(replay, headers=admin)).json()
    assert again["replayed"] is False
    assert again["order_id"] == fixed["order_id"]
    listed = (await client.get(f"{ADMIN}/orders", headers=admin)).json()["items"]
    assert len(listed) == 1
    history = (await client.get(f"{ADMIN}/intake/payloads/{answer['intake_id']}", headers=admin)).json()[
        "history"
    ]
    assert [h["outcome"] for h in history] == ["quarantined", "quarantined", "accepted", "accepted"]
    assert history[2]["note"] == "mapped the fine liner variant"
    assert history[2]["actor"].startswith("key ")


async def test_unknown_sku_currency_money_and_shop_each_name_their_rule_and_owner(
    client: httpx.AsyncClient,
) -> None:
    channel = Channel(client)
    unknown = shopify_order(id=1)
    unknown["line_items"][0]["sku"] = "FN-POSTCARD-SET"
    answer = (await channel.shopify(unknown)).json()
    assert [(i["rule"], i["owner"], i["field"]) for i in answer["issues"]] == [
        ("reference.sku", "catalog", "lines[0].sku")
    ]

    dollars = shopify_order(id=2, currency="USD")
    answer = (await channel.shopify(dollars)).json()
    assert answer["status"] == "quarantined"
    assert [(i["rule"], i["owner"]) for i in answer["issues"]] == [("reference.currency", "finance")]

    wrong_total = shopify_order(id=3, total_price="44.80")
    answer = (await channel.shopify(wrong_total)).json()
    assert [(i["rule"], i["owner"], i["field"]) for i in answer["issues"]] == [
        ("money.total", "finance", "total")
    ]
    assert "41.80" in answer["issues"][0]["message"]

    # Within rounding is fine: a cent per line.
    rounding = shopify_order(id=4, total_price="41.81")
    assert (await channel.shopify(rounding)).json()["status"] == "accepted"

    other_shop = (await channel.shopify(shopify_order(id=5), shop="someone-else.myshopify.com")).json()
    assert [(i["rule"], i["field"]) for i in other_shop["issues"]] == [
        ("reference.store", "X-Shopify-Shop-Domain")
    ]


async def test_warnings_accept_and_flag_the_order(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    order = shopify_order(phone="12", email=None, contact_email=None)
    order["customer"]["email"] = "maeve.byrne@example.ie"
    order["shipping_address"]["zip"] = None
    answer = (await Channel(client).shopify(order)).json()
    assert answer["status"] == "accepted"
    assert sorted((i["rule"], i["severity"], i["owner"]) for i in answer["issues"]) == [
        ("completeness.delivery", "warn", "fulfilment"),
        ("contact.phone", "warn", "customer-care"),
    ]
    view = await operator_order(client, admin, answer["order_id"])
    assert view["needs_attention"] is True
    assert view["attention_reason"] == "intake: completeness.delivery, contact.phone"
    assert view["contact"] == {"email": "maeve.byrne@example.ie", "phone": None}


async def test_not_enough_stock_is_quarantined_for_inventory(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await set_stock(session, "NB-A5-DOT", 1)
        await set_stock(session, "PEN-FINE-BLK", 5)
    answer = (await Channel(client).shopify(shopify_order())).json()
    assert answer["status"] == "quarantined"
    assert [(i["rule"], i["owner"], i["field"]) for i in answer["issues"]] == [
        ("stock.available", "inventory", "lines[0].quantity")
    ]
    # Nothing is held for a quarantined order: the reservation of the other line was rolled back.
    assert await stock(sessionmaker, "PEN-FINE-BLK") == (5, 0)


async def test_bad_and_missing_signatures_are_refused_and_recorded_without_body(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    channel = Channel(client)
    body = b'{"id": 1}'
    forged = await channel.shopify(body, signature=b64_hmac(body, "not-the-secret"))
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    problem = forged.json()
    assert problem["type"] == "bad-signature"
    assert problem["errors"] == [
        {"field": "X-Shopify-Hmac-Sha256", "message": "the signature does not match the body"}
    ]
    unsigned = await channel.shopify(body, signature="")
    assert unsigned.status_code == 401
    assert unsigned.json()["errors"][0]["message"] == "the delivery is not signed"

    refused = (await client.get(f"{ADMIN}/intake/payloads?status=refused", headers=admin)).json()["items"]
    assert sorted(r["refusal"] for r in refused) == ["bad_signature", "missing_signature"]
    detail = (await client.get(f"{ADMIN}/intake/payloads/{refused[0]['intake_id']}", headers=admin)).json()
    assert detail["body_text"] is None
    assert detail["body_base64"] is None
    assert detail["body_size"] == len(body)
    assert "x-shopify-hmac-sha256" not in detail["headers"]
    assert detail["headers"]["x-shopify-topic"] == "orders/create"
    replay = await client.post(f"{ADMIN}/intake/payloads/{detail['intake_id']}/replay", headers=admin)
    assert replay.status_code == 409


async def test_five_megabytes_is_413_and_recorded(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    order = shopify_order(note="x" * (5 * 1024 * 1024))
    r = await Channel(client).shopify(order)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "body"
    refused = (await client.get(f"{ADMIN}/intake/payloads?status=refused", headers=admin)).json()["items"]
    assert [(p["refusal"], p["body_size"] > 5 * 1024 * 1024) for p in refused] == [("too_large", True)]

    # Streamed without a length, it is cut off at the limit, refused and recorded the same way.
    async def chunks() -> Any:
        for _ in range(6):
            yield b"x" * (1024 * 1024)

    streamed = await client.post(
        "/api/v1/intake/shopify-demo", content=chunks(), headers={"X-Shopify-Topic": "orders/create"}
    )
    assert streamed.status_code == 413
    refused = (await client.get(f"{ADMIN}/intake/payloads?status=refused", headers=admin)).json()["items"]
    assert sorted(p["refusal"] for p in refused) == ["body_cut_off", "too_large"]


async def test_invalid_utf8_is_kept_byte_for_byte_in_quarantine(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = b'{"id": 77, "email": "caf\xe9@example.ie"}'  # Latin-1, not UTF-8
    answer = (await Channel(client).shopify(body)).json()
    assert answer["status"] == "quarantined"
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("payload.encoding", "body")]
    detail = (await client.get(f"{ADMIN}/intake/payloads/{answer['intake_id']}", headers=admin)).json()
    assert detail["body_text"] is None
    import base64

    assert base64.b64decode(detail["body_base64"]) == body


async def test_unknown_source_and_unhandled_topic(client: httpx.AsyncClient) -> None:
    r = await Channel(client).shopify(shopify_order(), source="nobody")
    assert r.status_code == 404
    assert r.json()["errors"][0]["field"] == "source"
    csv_source = await Channel(client).shopify(shopify_order(), source="csv-demo")
    assert csv_source.status_code == 404  # CSV sources take files through the CLI only
    answer = (await Channel(client).shopify(shopify_order(), topic="orders/edited")).json()
    assert [(i["rule"], i["field"]) for i in answer["issues"]] == [("payload.topic", "X-Shopify-Topic")]
