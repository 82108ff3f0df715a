"""Suggestions on the checkout and thank-you pages, over HTTP; the funnel counts the ones kept."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.catalog.models import Product
from tests.factories import ADMIN_KEY
from tests.recommendations.helpers import place, settle
from tests.test_pages import checkout_form, csrf_of, open_checkout
from tests.test_pages import place as place_on_page

NB, PEN, CASE = "NB-A5-DOT", "PEN-FINE-BLK", "CASE-CANVAS"
ADD_FORM = re.compile(
    r'<form method="post" action="([^"]+/suggestions)"[^>]*>.*?name="sku" value="([^"]+)"', re.S
)


async def history(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    for _ in range(2):
        await place(client, NB, PEN)
    await place(client, NB, CASE)
    await settle(sessionmaker)


async def test_checkout_page_offers_three_at_most_and_add_changes_the_cart_and_total(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await history(client, sessionmaker)
    path = await open_checkout(client, (NB, 1))
    page = await client.get(path)
    assert "Goes well with your order" in page.text
    offered = ADD_FORM.findall(page.text)
    assert [sku for _action, sku in offered] == [PEN, CASE]
    assert "Often bought together with your items" in page.text
    assert "€7.90" in page.text
    action = offered[0][0]

    r = await client.post(action, data={"csrf": csrf_of(page.text), "sku": PEN, "reason": "bought_together"})
    assert r.status_code == 303, r.text
    after = await client.get(r.headers["location"])
    assert "Added Fine liner, black (3-pack). Your new total is €27.30." in after.text, re.findall(
        r"notice[^\n]*", after.text
    )
    checkout_id = path.rsplit("/", 1)[1]
    api = (await client.get(f"/api/v1/stores/demo/checkouts/{checkout_id}")).json()
    assert [(i["sku"], i["quantity"]) for i in api["items"]] == [(NB, 1), (PEN, 1)]
    assert api["totals"]["total"] == "27.30"
    assert [sku for _a, sku in ADD_FORM.findall(after.text)] == [CASE]  # never what is in the cart

    forged = await client.post(action, data={"csrf": "forged-" + "x" * 40, "sku": CASE, "reason": "popular"})
    assert forged.status_code == 403
    unknown = await client.post(action, data={"csrf": csrf_of(page.text), "sku": "NOPE", "reason": "popular"})
    assert unknown.status_code == 422
    assert "NOPE" in unknown.text
    api = (await client.get(f"/api/v1/stores/demo/checkouts/{checkout_id}")).json()
    assert len(api["items"]) == 2


async def test_thank_you_page_add_starts_a_new_checkout_and_the_funnel_counts_it(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await history(client, sessionmaker)
    tracking = await place_on_page(client)  # the page's own order: two notebooks
    page = await client.get(tracking)
    assert "You may also like" in page.text
    offered = ADD_FORM.findall(page.text)
    assert offered
    assert offered[0][1] == PEN
    r = await client.post(
        offered[0][0], data={"csrf": csrf_of(page.text), "sku": PEN, "reason": "bought_together"}
    )
    assert r.status_code == 303
    new_path = r.headers["location"].split("?")[0]
    assert "/checkout/" in new_path
    assert new_path not in tracking
    new_page = await client.get(r.headers["location"])
    assert "Added Fine liner, black (3-pack)." in new_page.text
    # The first order is untouched.
    assert "Fine liner" not in (await client.get(tracking)).text.split("You may also like")[0]

    # Order the new checkout: the suggestion was kept.
    placed = await client.post(new_path, data=checkout_form(new_page.text))
    assert placed.status_code == 303, placed.text
    report = (
        await client.get("/api/v1/stores/demo/admin/report", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    ).json()
    funnel = report["suggestions"]
    assert funnel["added"] == 1
    assert funnel["orders_with_added"] == 1
    assert funnel["attach_rate"] is not None
    assert 0 < funnel["attach_rate"] < 1
    assert funnel["average_order_value_with"] == "12.80"  # 7.90 and 4.90 shipping


async def test_storefront_search_box_ranks_and_keeps_the_cart(client: httpx.AsyncClient) -> None:
    page = await client.get("/s/demo", params={"q": "notebok", "sku": PEN, "qty": "2"})
    assert page.status_code == 200
    assert 'role="search"' in page.text
    assert 'value="notebok"' in page.text
    assert "Results for “notebok”" in page.text
    shown = re.findall(r'name="add" value="([^"]+)"', page.text)
    assert shown == [NB]
    assert 'name="sku" value="PEN-FINE-BLK"><input type="hidden" name="qty" value="2"' in page.text
    none = await client.get("/s/demo", params={"q": "umbrella"})
    assert "No products match" in none.text
    assert re.findall(r'name="add" value="([^"]+)"', none.text) == []


async def test_suggestions_show_the_products_picture_and_the_page_allows_its_host(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await history(client, sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Product).where(Product.sku == PEN).values(image_url="https://img.example.com/pen.jpg")
        )
    path = await open_checkout(client, (NB, 1))
    page = await client.get(path)
    assert 'src="https://img.example.com/pen.jpg"' in page.text
    assert "https://img.example.com" in page.headers["content-security-policy"]
    api = await client.get(f"/api/v1/stores/demo/checkouts/{path.rsplit('/', 1)[1]}/recommendations")
    assert api.json()["items"][0]["image_url"] == "https://img.example.com/pen.jpg"
