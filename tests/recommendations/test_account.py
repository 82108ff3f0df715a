"""A signed-in buyer's search and suggestions lean towards what the account bought before; guest
routes ignore the session entirely, and prices never change with the buyer."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.settings import Settings
from tests.accounts.helpers import claim, email, order_for
from tests.factories import make_store
from tests.recommendations.helpers import place, settle
from tests.recommendations.test_search import TOOLS


async def test_search_leans_towards_past_purchases(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="tools", products=TOOLS)
    address = email()
    order = await order_for(client, address, store="tools", sku="TAPE-5M")
    await settle(sessionmaker)
    assert (
        await claim(client, sessionmaker, settings, order["token"], address, store="tools")
    ).status_code == 201

    mine = await client.get("/api/v1/account/stores/tools/products", params={"q": "steel"})
    assert mine.status_code == 200, mine.text
    ranked = [i["sku"] for i in mine.json()["items"]]
    assert ranked[0] == "NAIL-100"  # the best match stays first: a lean, not a takeover
    assert ranked.index("TAPE-5M") < ranked.index("HAM-CLAW")
    # The same words on the guest route, session cookie and all: the plain ranking, same prices.
    guest = await client.get("/api/v1/stores/tools/products", params={"q": "steel"})
    assert sorted(guest.json()["items"], key=lambda i: i["sku"]) == sorted(
        mine.json()["items"], key=lambda i: i["sku"]
    )
    client.cookies.clear()
    plain = await client.get("/api/v1/stores/tools/products", params={"q": "steel"})
    assert plain.json() == guest.json()
    assert (
        await client.get("/api/v1/account/stores/tools/products", params={"q": "steel"})
    ).status_code == 401


async def test_suggestions_for_an_account_checkout_start_from_its_history(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    for _ in range(2):
        await place(client, "STICKY-SET", "CASE-CANVAS")
    address = email()
    order = await order_for(client, address, sku="STICKY-SET")
    await settle(sessionmaker)
    assert (await claim(client, sessionmaker, settings, order["token"], address)).status_code == 201
    r = await client.post(
        "/api/v1/account/stores/demo/checkouts", json={"items": [{"sku": "NB-A5-DOT", "quantity": 1}]}
    )
    assert r.status_code == 201, r.text
    chk = r.json()
    mine = await client.get(f"/api/v1/account/stores/demo/checkouts/{chk['id']}/recommendations")
    assert mine.status_code == 200, mine.text
    assert mine.json()["items"][0]["sku"] == "CASE-CANVAS"
    assert mine.json()["items"][0]["reason"] == "bought_together"
    # The guest route never sees an account's checkout, session cookie or not.
    guest = await client.get(f"/api/v1/stores/demo/checkouts/{chk['id']}/recommendations")
    assert guest.status_code == 404


async def test_account_checkout_page_suggests_from_the_accounts_history_and_adds(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    for _ in range(2):
        await place(client, "STICKY-SET", "CASE-CANVAS")
    address = email()
    order = await order_for(client, address, sku="STICKY-SET")
    await settle(sessionmaker)
    assert (await claim(client, sessionmaker, settings, order["token"], address)).status_code == 201
    r = await client.post(
        "/api/v1/account/stores/demo/checkouts", json={"items": [{"sku": "NB-A5-DOT", "quantity": 1}]}
    )
    path = f"/account/demo/checkout/{r.json()['id']}"
    page = await client.get(path)
    assert page.status_code == 200
    assert "Goes well with your order" in page.text
    offered = re.findall(r'action="([^"]+/suggestions)".*?name="sku" value="([^"]+)"', page.text, re.S)
    assert offered[0] == (f"{path}/suggestions", "CASE-CANVAS")
    token = re.search(r'name="acsrf" value="([^"]+)"', page.text)
    assert token
    added = await client.post(
        offered[0][0], data={"acsrf": token.group(1), "sku": "CASE-CANVAS", "reason": "bought_together"}
    )
    assert added.status_code == 303, added.text
    after = await client.get(added.headers["location"])
    assert "Added Canvas pen case. Your new total is" in after.text
    mine = (await client.get(f"/api/v1/account/stores/demo/checkouts/{r.json()['id']}")).json()
    assert [i["sku"] for i in mine["items"]] == ["NB-A5-DOT", "CASE-CANVAS"]
    forged = await client.post(
        offered[0][0], data={"acsrf": "x" * 40, "sku": "STICKY-SET", "reason": "popular"}
    )
    assert forged.status_code == 403
