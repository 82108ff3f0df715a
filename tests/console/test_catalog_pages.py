"""Console catalog pages: a product created, edited, its stock changed, archived and restored, with
errors beside their fields and what was typed kept; the catalog exported as CSV and store-file TOML."""

from __future__ import annotations

import csv
import io
import tomllib

import httpx

from ordergate.stores.schemas import ProductConfig
from tests.console.helpers import post, sign_in, text_of

NEW = {
    "sku": "LAMP-1",
    "name": "Desk lamp",
    "price": "39.00",
    "description": "Brass",
    "image_url": "",
    "on_hand": "4",
    "low_stock_threshold": "",
}


async def test_create_edit_stock_archive_restore(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    listing = await client.get("/admin/products")
    assert listing.status_code == 200
    assert "NB-A5-DOT" in listing.text

    bad = await post(client, "/admin/products", {**NEW, "price": "39.001", "sku": "LAMP 1"})
    assert bad.status_code == 422
    assert 'id="product-sku-error"' in bad.text
    assert 'id="product-price-error"' in bad.text
    assert 'aria-invalid="true"' in bad.text
    assert 'value="Desk lamp"' in bad.text
    assert "Brass" in bad.text

    r = await post(client, "/admin/products", NEW)
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/products/LAMP-1?done=created"
    again = await post(client, "/admin/products", NEW)
    assert again.status_code == 409
    assert "product-sku-error" in again.text
    assert "exists" in text_of(again.text)

    r = await post(
        client,
        "/admin/products/LAMP-1",
        {
            "name": "Desk lamp, brass",
            "price": "41.50",
            "description": "",
            "image_url": "https://img.example/l.jpg",
            "low_stock_threshold": "2",
        },
    )
    assert r.status_code == 303
    shown = text_of((await client.get("/admin/products/LAMP-1")).text)
    assert "Desk lamp, brass" in shown

    refused = await post(
        client, "/admin/products/LAMP-1/stock", {"mode": "delta", "amount": "-9", "reason": "broken"}
    )
    assert refused.status_code == 409
    assert 'id="stock-amount-error"' in refused.text
    assert 'value="-9"' in refused.text
    assert 'value="broken"' in refused.text
    missing = await post(
        client, "/admin/products/LAMP-1/stock", {"mode": "count", "amount": "10", "reason": ""}
    )
    assert missing.status_code == 422
    assert "Say why" in missing.text
    ok = await post(
        client, "/admin/products/LAMP-1/stock", {"mode": "count", "amount": "10", "reason": "count"}
    )
    assert ok.status_code == 303
    page = text_of((await client.get("/admin/products/LAMP-1")).text)
    assert "Adjustment" in page
    assert "+6" in page
    assert "Import" in page
    assert "opening stock" in page

    assert (await post(client, "/admin/products/LAMP-1/archive")).status_code == 303
    archived = await client.get("/admin/products", params={"status": "archived"})
    assert "LAMP-1" in archived.text
    store = (await client.get("/api/v1/stores/demo/products")).json()["items"]
    assert "LAMP-1" not in [p["sku"] for p in store]
    assert (await post(client, "/admin/products/LAMP-1/restore")).status_code == 303
    store = (await client.get("/api/v1/stores/demo/products")).json()["items"]
    assert "LAMP-1" in [p["sku"] for p in store]

    stale = await client.post("/admin/products/LAMP-1/archive", data={"csrf": "nope"})
    assert stale.status_code == 403


async def test_exports_round_trip(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    await post(client, "/admin/products", {**NEW, "name": '=HYPERLINK("x") "quoted"'})
    await post(client, "/admin/products/LAMP-1/archive")
    r = await client.get("/admin/products/export.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = {row["sku"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert rows["LAMP-1"]["name"].startswith("'=")
    assert rows["LAMP-1"]["status"] == "archived"
    t = await client.get("/admin/products/export.toml")
    products = [ProductConfig.model_validate(p) for p in tomllib.loads(t.text)["products"]]
    lamp = next(p for p in products if p.sku == "LAMP-1")
    assert lamp.name == '=HYPERLINK("x") "quoted"'
    assert lamp.stock == 4
    assert lamp.status == "archived"
    assert str(lamp.price) == "39.00"


async def test_pages_need_a_session(client: httpx.AsyncClient) -> None:
    for path in ("/admin/products", "/admin/products/new", "/admin/products/export.csv"):
        r = await client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/admin/sign-in"), path
