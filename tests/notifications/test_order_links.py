"""Lost-link recovery: always 202, links only to the contact that placed the orders, rate limited."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.notifications.delivery import outbox_pass
from ordergate.settings import Settings
from tests.factories import make_store
from tests.notifications.conftest import mail_files, outbox, sms_files
from tests.notifications.helpers import place_order

LINKS = "/api/v1/stores/demo/order-links"


async def test_links_go_to_the_contact_only(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    first = await place_order(client, email="ada@example.com")
    second = await place_order(client, email="ada@example.com", method="manual")
    other = await place_order(client, email="bob@example.com")
    await outbox_pass(sessionmaker, settings)
    before = set(mail_files(settings))

    r = await client.post(LINKS, json={"email": "  Ada@EXAMPLE.com "})  # normalised like the checkout
    assert r.status_code == 202
    assert r.headers["cache-control"] == "no-store"
    assert await outbox_pass(sessionmaker, settings) is not None
    (path,) = set(mail_files(settings)) - before
    content = path.read_text()
    assert "To: Ada@example.com" in content  # the same mailbox; domains are compared lower-cased
    assert first["tracking_url"] in content
    assert second["tracking_url"] in content
    assert other["tracking_url"] not in content
    assert other["number"] not in content
    assert "Your order links at Fieldnotes Supply Co." in content


async def test_the_answer_reveals_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await place_order(client, email="ada@example.com")
    await outbox_pass(sessionmaker, settings)
    known = await client.post(LINKS, json={"email": "ada@example.com"})
    unknown = await client.post(LINKS, json={"email": "nobody@example.com"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.json() == unknown.json()
    assert set(known.headers) - {"x-request-id", "content-length"} == set(unknown.headers) - {
        "x-request-id",
        "content-length",
    }
    # Both requests wrote one message; only the one with orders is sent, the other is closed unsent.
    result = await outbox_pass(sessionmaker, settings)
    assert (result.sent, result.skipped) == (1, 1)
    (skipped,) = await outbox(sessionmaker, state="skipped")
    assert skipped.recipient == "nobody@example.com"
    assert skipped.last_error == "no order matched this contact"
    assert len(mail_files(settings)) == 2  # the confirmation and the links: nothing to nobody@


async def test_phone_contact_gets_an_sms(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, phone="+4930901820")
    await outbox_pass(sessionmaker, settings)
    r = await client.post(LINKS, json={"phone": "030 901820", "phone_region": "DE"})
    assert r.status_code == 202
    await outbox_pass(sessionmaker, settings)
    (path,) = [p for p in sms_files(settings) if p.name.endswith("order_links.txt")]
    assert order["tracking_url"] in path.read_text()


async def test_orders_of_another_store_stay_out(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other")
    await place_order(client, email="ada@example.com")
    await outbox_pass(sessionmaker, settings)
    r = await client.post("/api/v1/stores/other/order-links", json={"email": "ada@example.com"})
    assert r.status_code == 202
    result = await outbox_pass(sessionmaker, settings)
    assert (result.sent, result.skipped) == (0, 1)


async def test_rate_limited_per_contact_still_202_and_sends_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await place_order(client, email="ada@example.com")
    limit = settings.order_links_per_contact_per_hour
    answers = [
        (await client.post(LINKS, json={"email": "ada@example.com"})).status_code for _ in range(limit + 2)
    ]
    assert answers == [202] * (limit + 2)
    assert len(await outbox(sessionmaker, kind="order_links")) == limit
    # Another contact from the same address is not held back by the first one's limit.
    assert (await client.post(LINKS, json={"email": "bob@example.com"})).status_code == 202
    assert len(await outbox(sessionmaker, kind="order_links")) == limit + 1


async def test_rate_limited_per_client_address(
    app: object, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    app.state.settings = settings.model_copy(update={"order_links_per_client_per_hour": 3})

    def from_address(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    async with from_address("203.0.113.7") as one, from_address("198.51.100.9") as two:
        for i in range(5):
            assert (await one.post(LINKS, json={"email": f"guess{i}@example.com"})).status_code == 202
        assert len(await outbox(sessionmaker, kind="order_links")) == 3
        assert (await two.post(LINKS, json={"email": "guess9@example.com"})).status_code == 202
        assert len(await outbox(sessionmaker, kind="order_links")) == 4


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "ada@example.com", "phone": "+4930901820"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"email": "ada@example.com", "token": "x"}, "token"),
    ],
)
async def test_bad_requests_name_the_field(
    client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    r = await client.post(LINKS, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == field


async def test_unknown_store_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/stores/nope/order-links", json={"email": "ada@example.com"})
    assert r.status_code == 404
