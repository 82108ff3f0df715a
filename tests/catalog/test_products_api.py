"""The operator's catalog API: products created, edited, archived and restored; stock changed with a
reason, refused below what is reserved, and every change of on-hand in the ledger."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.stores.service import load_store_config
from tests.factories import Buyer, demo_config

API = "/api/v1/stores/demo/admin/products"


async def make(client: httpx.AsyncClient, admin: dict[str, str], **body: object) -> httpx.Response:
    payload = {"sku": "MUG-01", "name": "Enamel mug", "price": "12.00", **body}
    return await client.post(API, json=payload, headers=admin)


async def test_create_edit_archive_restore(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await make(client, admin, description="Blue rim", image_url="https://img.example/mug.jpg", on_hand=7)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "sku": "MUG-01",
        "name": "Enamel mug",
        "description": "Blue rim",
        "price": "12.00",
        "currency": "EUR",
        "image_url": "https://img.example/mug.jpg",
        "status": "active",
        "on_hand": 7,
        "reserved": 0,
        "available": 7,
        "low_stock_threshold": None,
        "low_stock": False,
    }
    again = await make(client, admin, name="Other")
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "sku"
    on_sale = (await client.get("/api/v1/stores/demo/products")).json()["items"]
    assert "MUG-01" in [p["sku"] for p in on_sale]

    r = await client.patch(f"{API}/MUG-01", json={"price": "13.50", "name": "Big mug"}, headers=admin)
    assert r.status_code == 200
    assert r.json()["price"] == "13.50"
    assert r.json()["name"] == "Big mug"
    r = await client.patch(f"{API}/MUG-01", json={"status": "archived"}, headers=admin)
    assert r.json()["status"] == "archived"
    on_sale = (await client.get("/api/v1/stores/demo/products")).json()["items"]
    assert "MUG-01" not in [p["sku"] for p in on_sale]
    refused = await client.post(
        "/api/v1/stores/demo/checkouts", json={"items": [{"sku": "MUG-01", "quantity": 1}]}
    )
    assert refused.status_code in (409, 422)
    assert "items" in refused.json()["errors"][0]["field"]
    archived = (await client.get(API, params={"status": "archived"}, headers=admin)).json()["items"]
    assert [p["sku"] for p in archived] == ["MUG-01"]
    r = await client.patch(f"{API}/MUG-01", json={"status": "active"}, headers=admin)
    assert r.json()["status"] == "active"
    found = (await client.get(API, params={"q": "big"}, headers=admin)).json()["items"]
    assert [p["sku"] for p in found] == ["MUG-01"]


async def test_bad_input_names_the_field(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    cases = [
        ({"price": "1.234"}, "price"),
        ({"price": "-1"}, "price"),
        ({"sku": "has space"}, "sku"),
        ({"image_url": "javascript:alert(1)"}, "image_url"),
        ({"on_hand": -3}, "on_hand"),
        ({"name": ""}, "name"),
    ]
    for body, field in cases:
        r = await make(client, admin, **body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == field, (body, r.json())
    assert (await client.patch(f"{API}/NOPE", json={"name": "x"}, headers=admin)).status_code == 404
    assert (await client.post(API, json={"sku": "X", "name": "x", "price": "1"})).status_code == 401


async def test_stock_changes_are_guarded_and_in_the_ledger(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await make(client, admin, on_hand=5)).status_code == 201
    order = await Buyer(client).order(sku="MUG-01", quantity=3)  # 3 reserved
    r = await client.post(f"{API}/MUG-01/stock", json={"delta": -3, "reason": "broken"}, headers=admin)
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "delta"
    r = await client.post(f"{API}/MUG-01/stock", json={"on_hand": 2, "reason": "count"}, headers=admin)
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["field"] == "on_hand"
    r = await client.post(f"{API}/MUG-01/stock", json={"delta": -2, "reason": "broken"}, headers=admin)
    assert r.status_code == 200
    assert (r.json()["on_hand"], r.json()["reserved"]) == (3, 3)
    r = await client.post(f"{API}/MUG-01/stock", json={"on_hand": 10, "reason": "count"}, headers=admin)
    assert r.json()["on_hand"] == 10
    assert r.json()["available"] == 7
    both = await client.post(
        f"{API}/MUG-01/stock", json={"delta": 1, "on_hand": 1, "reason": "x"}, headers=admin
    )
    assert both.status_code == 422
    await Buyer(client).pay(order["token"])  # funding commits: on hand 10 -> 7
    cancel = await client.post(f"/api/v1/stores/demo/admin/orders/{order['number']}/cancel", headers=admin)
    assert cancel.json()["status"] == "cancelled"  # a paid order cancelled: back to 10

    moves = (await client.get(f"{API}/MUG-01/stock", headers=admin)).json()["movements"]
    seen = [(m["kind"], m["delta"], m["on_hand_after"], m["order"]) for m in moves]
    assert seen == [
        ("order_returned", 3, 10, order["number"]),
        ("order_funded", -3, 7, order["number"]),
        ("adjustment", 7, 10, None),
        ("adjustment", -2, 3, None),
        ("import", 5, 5, None),
    ]
    assert moves[3]["reason"] == "broken"
    assert moves[3]["actor"].startswith("key ")


async def test_expiry_release_is_in_the_ledger(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    from datetime import timedelta

    from ordergate import clock

    await make(client, admin, on_hand=4)
    order = await Buyer(client).order(sku="MUG-01", quantity=2)
    clock.advance(timedelta(hours=2))
    assert (await Buyer(client).track(order["token"]))["status"] == "expired"
    moves = (await client.get(f"{API}/MUG-01/stock", headers=admin)).json()["movements"]
    assert (moves[0]["kind"], moves[0]["delta"], moves[0]["reserved_delta"], moves[0]["order"]) == (
        "order_released",
        0,
        -2,
        order["number"],
    )


async def test_concurrent_removals_never_go_below_reserved(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make(client, admin, on_hand=10)
    await Buyer(client).order(sku="MUG-01", quantity=4)
    answers = await asyncio.gather(
        *(
            client.post(f"{API}/MUG-01/stock", json={"delta": -2, "reason": "r"}, headers=admin)
            for _ in range(6)
        )
    )
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 409, 409, 409]
    product = (await client.get(f"{API}/MUG-01", headers=admin)).json()
    assert (product["on_hand"], product["reserved"]) == (4, 4)


async def test_low_stock_view_uses_each_products_threshold(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make(client, admin, sku="LOW-A", on_hand=3)  # default threshold 5
    await make(client, admin, sku="LOW-B", on_hand=3, low_stock_threshold=2)
    await make(client, admin, sku="LOW-C", on_hand=0, low_stock_threshold=0)
    low = (await client.get(API, params={"low": "true"}, headers=admin)).json()["items"]
    assert [p["sku"] for p in low] == ["LOW-C", "LOW-A"]


async def test_store_file_still_loads_and_its_stock_changes_are_in_the_ledger(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    config = demo_config()
    config.products[0].stock = 42
    async with sessionmaker() as session, session.begin():
        await load_store_config(session, config)
    sku = config.products[0].sku
    product = (await client.get(f"{API}/{sku}", headers=admin)).json()
    assert product["on_hand"] == 42
    moves = (await client.get(f"{API}/{sku}/stock", headers=admin)).json()["movements"]
    assert moves[0]["kind"] == "config"
    assert moves[0]["on_hand_after"] == 42
    assert moves[0]["actor"] == "store file"
