"""A way back in: "Track an order" on the storefront and on the order-not-found page sends the
tracking links to the buyer's own contact (the order-links rules), and both lead to sign-in."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.notifications.conftest import outbox
from tests.test_pages import csrf_of, place


async def test_storefront_and_not_found_page_lead_back_in(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    shop = (await client.get("/s/demo")).text
    assert 'href="/s/demo/track"' in shop
    assert 'href="/account/demo/sign-in"' in shop
    assert "Track an order" in shop

    await place(client)  # ada@example.com
    lost = await client.get("/s/demo/orders/" + "x" * 40)
    assert lost.status_code == 404
    assert "Order not found" in lost.text
    assert 'action="/s/demo/track"' in lost.text
    assert 'href="/account/demo/sign-in"' in lost.text

    bad = await client.post("/s/demo/track", data={"contact": "ada@example", "csrf": csrf_of(lost.text)})
    assert bad.status_code == 422
    assert "Check the part after @" in bad.text
    assert 'value="ada@example"' in bad.text
    empty = await client.post("/s/demo/track", data={"contact": "", "csrf": csrf_of(lost.text)})
    assert empty.status_code == 422
    assert "Enter the email address or phone number" in empty.text
    forged = await client.post("/s/demo/track", data={"contact": "ada@example.com", "csrf": "forged"})
    assert forged.status_code == 403

    r = await client.post("/s/demo/track", data={"contact": "ada@example.com", "csrf": csrf_of(lost.text)})
    assert r.status_code == 303
    assert r.headers["location"] == "/s/demo/track?sent=1"
    assert "the links are on their way" in (await client.get(r.headers["location"])).text
    links = await outbox(sessionmaker, kind="order_links")
    assert [(m.channel, m.recipient) for m in links] == [("email", "ada@example.com")]
