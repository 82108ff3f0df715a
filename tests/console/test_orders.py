"""The order book in the console and in the operator API: filters, search, one order's page, and
the moves its state allows (shipment with evidence, complete, cancel, payments); refunds are in
tests/payments/test_refunds.py."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.notifications.models import OutboxMessage
from tests.console.helpers import post, sign_in, text_of
from tests.factories import Buyer

API = "/api/v1/stores/demo/admin/orders"


def numbers(html: str) -> set[str]:
    return set(re.findall(r'class="order-link" href="/admin/orders/([A-Z0-9-]+)"', html))


async def test_filters_and_search_in_the_api_and_the_console(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    buyer = Buyer(client)
    old = (await buyer.ready(email="Grace.Hopper@Example.com"))["id"]
    first = (await buyer.place(old)).json()
    clock.advance(timedelta(days=3))
    paid = await buyer.order()
    await buyer.pay(paid["token"])
    chk = await buyer.open(contact={"phone": "+353 86 123 4567"})
    await client.patch(
        f"/api/v1/stores/demo/checkouts/{chk['id']}",
        json={
            "delivery": {
                "name": "A",
                "address_line1": "1 Road",
                "city": "Cork",
                "postal_code": "T12",
                "country": "IE",
            }
        },
    )
    phoned = (await buyer.place(chk["id"])).json()
    today = clock.now().date()

    async def api(**params: str) -> set[str]:
        r = await client.get(API, params=params, headers=admin)
        assert r.status_code == 200, r.text
        return {o["number"] for o in r.json()["items"]}

    everything = {first["number"], paid["number"], phoned["number"]}
    assert await api() == everything
    assert await api(q=first["number"].lower()) == {first["number"]}
    assert await api(q=first["number"].replace("-", "")) == {first["number"]}
    assert await api(q="grace.hopper") == {first["number"]}
    assert await api(q="086 123 4567") == {phoned["number"]}
    assert await api(q="nobody@example.com") == set()
    assert await api(source="web-guest") == everything
    assert await api(source="shopify-demo") == set()
    assert await api(created_from=today.isoformat()) == {paid["number"], phoned["number"]}
    assert await api(created_to=(today - timedelta(days=1)).isoformat()) == {first["number"]}
    assert await api(status="funded", created_from=today.isoformat()) == {paid["number"]}
    r = await client.get(API, params={"created_from": "yesterday"}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "created_from"
    r = await client.get(
        API, params={"created_from": today.isoformat(), "created_to": "2020-01-01"}, headers=admin
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "created_to"
    assert (await client.get(API, params={"q": "x" * 101}, headers=admin)).status_code == 422
    for name in ("q", "source"):
        # NUL is refused at the door for every route (no text column can hold it).
        r = await client.get(API, params={name: "a\x00b"}, headers=admin)
        assert r.status_code == 400
        assert r.json()["errors"][0]["field"] == "query"

    await sign_in(client)
    page = await client.get("/admin/orders")
    assert numbers(page.text) == everything
    assert "3 orders" in text_of(page.text)
    page = await client.get("/admin/orders", params={"q": "grace.hopper"})
    assert numbers(page.text) == {first["number"]}
    assert "1 order matches" in text_of(page.text)
    page = await client.get("/admin/orders", params={"status": "funded"})
    assert numbers(page.text) == {paid["number"]}
    page = await client.get(
        "/admin/orders", params={"created_from": today.isoformat(), "source": "web-guest"}
    )
    assert numbers(page.text) == {paid["number"], phoned["number"]}
    page = await client.get("/admin/orders", params={"attention": "1"})
    assert numbers(page.text) == set()
    assert "No orders match these filters" in text_of(page.text)
    bad = await client.get("/admin/orders", params={"created_from": "2026-13-01"})
    assert bad.status_code == 422
    assert 'id="created-from-error"' in bad.text
    assert "Enter a date" in bad.text
    bad = await client.get("/admin/orders", params={"created_from": "2026-02-01", "created_to": "2026-01-01"})
    assert bad.status_code == 422
    assert "The last day is before the first day" in bad.text


async def test_an_orders_page_and_the_moves_its_state_allows(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    order = await buyer.order()
    number, path = order["number"], f"/admin/orders/{order['number']}"
    await sign_in(client)

    page = text_of((await client.get(path)).text)
    assert "Awaiting payment" in page
    assert "Cancel the order" in page
    assert "Record the shipment" not in page
    assert "Complete the order" not in page
    assert "Order confirmation" in page  # the messages written for the buyer
    assert "Ada Lovelace" in page
    assert "SW1Y 4JH" in page
    r = await post(client, f"{path}/complete")
    assert r.status_code == 409
    assert "cannot become completed" in r.text

    await buyer.pay(order["token"])
    page = text_of((await client.get(path)).text)
    assert "Record the shipment" in page
    assert "Payment received" in page
    assert "Payments recorded" in page

    # A missing field is shown beside it, and what was typed stays.
    r = await post(
        client, f"{path}/shipments", {"carrier": "", "tracking_number": "JJD01", "evidence": "Receipt 77"}
    )
    assert r.status_code == 422
    assert 'id="shipment-carrier-error"' in r.text
    assert "Enter the carrier" in r.text
    assert 'value="JJD01"' in r.text
    assert "Receipt 77</textarea>" in r.text
    r = await post(
        client,
        f"{path}/shipments",
        {"carrier": "An Post", "tracking_number": "JJD01", "evidence": "Receipt 77"},
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"{path}?done=shipment"
    page = text_of((await client.get(r.headers["location"])).text)
    assert "Shipment recorded" in page
    assert "Receipt 77" in page
    assert "Complete the order" in page
    tracking = await buyer.track(order["token"])
    assert tracking["status"] == "shipped"
    assert tracking["shipments"][0]["evidence"] == "Receipt 77"

    assert (await post(client, f"{path}/complete")).status_code == 303
    page = text_of((await client.get(path)).text)
    assert "Completed" in page
    assert "Shipped → Completed" in page
    assert (await buyer.track(order["token"]))["status"] == "completed"
    assert (await client.get("/admin/orders/NOPE-NOPE")).status_code == 404
    assert number in (await client.get("/admin/orders", params={"status": "completed"})).text


async def test_cancel_with_a_reason_and_record_a_bank_transfer(client: httpx.AsyncClient) -> None:
    buyer = Buyer(client)
    doomed = await buyer.order()
    transfer = await buyer.order(method="manual")
    await sign_in(client)
    r = await post(
        client, f"/admin/orders/{doomed['number']}/cancel", {"reason": "Out of stock at the warehouse"}
    )
    assert r.status_code == 303
    page = text_of((await client.get(f"/admin/orders/{doomed['number']}")).text)
    assert "Out of stock at the warehouse" in page
    assert "Cancelled" in page
    assert (await buyer.track(doomed["token"]))["status"] == "cancelled"

    path = f"/admin/orders/{transfer['number']}"
    page = (await client.get(path)).text
    assert "Record a payment received" in page
    assert 'value="19.40"' in page
    r = await post(
        client, f"{path}/payments", {"amount": "19,40", "reference": "BANK-1", "confirmations": "1"}
    )
    assert r.status_code == 422
    assert "like 12.50" in r.text
    r = await post(client, f"{path}/payments", {"amount": "19.40", "reference": "", "confirmations": "1"})
    assert r.status_code == 422
    assert "payment-reference-error" in r.text
    r = await post(
        client, f"{path}/payments", {"amount": "19.40", "reference": "BANK-1", "confirmations": "1"}
    )
    assert r.status_code == 303
    assert (await buyer.track(transfer["token"]))["status"] == "funded"


async def test_dead_messages_can_be_sent_again(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await Buyer(client).order()
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxMessage).values(state="dead", attempts=8, last_error="550 no such user")
        )
    await sign_in(client)
    page = text_of((await client.get(f"/admin/orders/{order['number']}")).text)
    assert "550 no such user" in page
    assert "Send again" in page
    messages = (await client.get("/admin/messages?state=dead")).text
    [message_id] = re.findall(r'action="/admin/messages/(\d+)/retry"', messages)
    r = await post(client, f"/admin/orders/{order['number']}/messages/{message_id}/retry")
    assert r.status_code == 303
    assert "The message will be sent again" in (await client.get(r.headers["location"])).text
    r = await post(client, f"/admin/messages/{message_id}/retry")
    assert r.status_code == 409
    assert "Only a dead message" in r.text
    assert (await client.get("/admin/messages?state=lost")).status_code == 422
