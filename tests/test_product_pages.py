"""A storefront that sells: each product has its own page with its description, the list links to
it, images come from the operator's https URL with the page's CSP allowing that host, and times
are written in UTC inside <time> for the page's script to show in the buyer's time zone."""

from __future__ import annotations

import re

import httpx

from ordergate.web.render import content_security_policy, image_origins, image_url
from tests.factories import SKU
from tests.test_pages import csrf_of


async def test_product_page_shows_the_product_and_adds_it_to_the_cart(client: httpx.AsyncClient) -> None:
    shop = (await client.get("/s/demo")).text
    assert f'href="/s/demo/products/{SKU}"' in shop
    r = await client.get(f"/s/demo/products/{SKU}")
    assert r.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))
    assert "A5 dotted notebook" in text
    assert "192 pages of 100 g/m² paper, lay-flat binding." in text
    assert "€14.50" in text
    assert "In stock" in text
    assert r.headers["content-security-policy"].count("img-src 'self';") == 1  # no image: nothing more
    added = await client.post("/s/demo/cart", data={"add": SKU, "cart": "", "csrf": csrf_of(r.text)})
    assert added.status_code == 303
    assert added.headers["location"] == f"/s/demo?sku={SKU}&qty=1&added={SKU}#cart"
    missing = await client.get("/s/demo/products/NO-SUCH-THING")
    assert missing.status_code == 404
    assert "Product not found" in missing.text


def test_operator_images_are_https_and_allowed_by_the_csp() -> None:
    assert image_url("https://cdn.example.com/p/1.jpg") == "https://cdn.example.com/p/1.jpg"
    assert image_url("/static/favicon.svg") == "/static/favicon.svg"
    for bad in ("http://cdn.example.com/1.jpg", "javascript:alert(1)", "//evil.example/x.png", "data:x", ""):
        assert image_url(bad) == ""
    origins = image_origins(["https://cdn.example.com/p/1.jpg", "https://cdn.example.com/2.jpg", "/a.png"])
    assert origins == ("https://cdn.example.com",)
    csp = content_security_policy(origins)
    assert "img-src 'self' https://cdn.example.com;" in csp
    assert "default-src 'none'" in csp
    assert "'unsafe" not in content_security_policy(["https://x.example 'unsafe-inline'"])


async def test_times_are_utc_in_a_time_element(client: httpx.AsyncClient) -> None:
    from tests.test_pages import place

    html = (await client.get(await place(client))).text
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z" data-local>[^<]+ UTC</time>', html)


async def test_the_operators_image_shows_in_the_list_the_page_and_the_cart(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    photo = "https://img.example/mug.jpg"
    made = await client.post(
        "/api/v1/stores/demo/admin/products",
        json={"sku": "MUG-01", "name": "Enamel mug", "price": "12.00", "image_url": photo, "on_hand": 5},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    listing = await client.get("/s/demo?sku=MUG-01&qty=1")
    assert listing.text.count(f'src="{photo}"') == 2  # in the product list and in the cart
    assert "img-src 'self' https://img.example;" in listing.headers["content-security-policy"]
    page = await client.get("/s/demo/products/MUG-01")
    assert f'<img class="product-image" src="{photo}" alt="Enamel mug"' in page.text
    assert "img-src 'self' https://img.example;" in page.headers["content-security-policy"]
    api = (await client.get("/api/v1/stores/demo/products")).json()
    assert next(p for p in api["items"] if p["sku"] == "MUG-01")["image_url"] == photo
