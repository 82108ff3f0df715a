"""Operator routes: the store's key only, the operator's view, and the moves an operator makes."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Buyer, make_store

BASE = "/api/v1/stores/demo/admin"


async def test_keys(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    other_key = "og_otherkey01_" + "o" * 32
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other", key=other_key)
    order = await Buyer(client).order()
    url = f"{BASE}/orders/{order['number']}"
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await client.get(url, headers={"Authorization": "Basic abc"})).status_code == 401
    r = await client.get(url, headers={"Authorization": f"Bearer {other_key}"})
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    # The other store's key works for the other store, and demo's order is not there.
    r = await client.get(
        f"/api/v1/stores/other/admin/orders/{order['number']}",
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert r.status_code == 404


async def test_operator_view_and_list(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready(email="op@example.com")
    order = (await buyer.place(chk["id"])).json()
    view = (await client.get(f"{BASE}/orders/{order['number']}", headers=admin)).json()
    assert view["contact"] == {"email": "op@example.com", "phone": None}
    assert view["delivery"]["postal_code"] == "SW1Y 4JH"
    assert view["token"] is None  # the operator never sees the buyer's token
    assert view["events"][0]["to_status"] == "awaiting_payment"
    assert view["source"] == "web-guest"
    assert len(view["accepted_policies"]) == 3
    # lower-case number works too
    assert (await client.get(f"{BASE}/orders/{order['number'].lower()}", headers=admin)).status_code == 200

    paid = await buyer.order()
    await buyer.pay(paid["token"])
    listing = (await client.get(f"{BASE}/orders?status=funded", headers=admin)).json()["items"]
    assert [o["number"] for o in listing] == [paid["number"]]
    everything = (await client.get(f"{BASE}/orders", headers=admin)).json()["items"]
    assert {o["number"] for o in everything} == {order["number"], paid["number"]}
    r = await client.get(f"{BASE}/orders?status=lost", headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "status"


async def test_illegal_moves_are_409(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    buyer = Buyer(client)
    order = await buyer.order()
    url = f"{BASE}/orders/{order['number']}"
    for action, body in [("complete", None), ("shipments", {"carrier": "DHL", "tracking_number": "1"})]:
        r = await client.post(f"{url}/{action}", json=body, headers=admin)
        assert r.status_code == 409
        assert r.json()["type"] == "illegal-transition"
    await buyer.pay(order["token"])
    assert (
        await client.post(f"{url}/shipments", json={"carrier": "DHL", "tracking_number": "1"}, headers=admin)
    ).status_code == 200
    assert (
        await client.post(f"{url}/cancel", headers=admin)
    ).status_code == 409  # shipped orders are not cancelled
    assert (await client.post(f"{url}/complete", headers=admin)).status_code == 200
    assert (await client.post(f"{url}/complete", headers=admin)).status_code == 409
    view = await buyer.track(order["token"])
    assert view["status"] == "completed"


async def test_late_and_partial_payments_are_kept(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    from datetime import timedelta

    from ordergate import clock

    buyer = Buyer(client)
    order = await buyer.order()
    amount = order["payment"]["amount"]
    r = await buyer.pay(order["token"], amount="0.00010000")
    assert r.json()["payment"]["state"] == "partial"
    assert r.json()["status"] == "awaiting_payment"
    clock.advance(timedelta(minutes=20))
    r = await buyer.pay(order["token"], amount=amount)  # after expiry: recorded, never funded
    assert r.status_code == 201
    assert r.json()["status"] == "expired"
    view = (await client.get(f"{BASE}/orders/{order['number']}", headers=admin)).json()
    assert view["needs_attention"] is True
    assert "arrived while the order was expired" in view["attention_reason"]
    assert [e["type"] for e in view["events"]].count("payment_received") == 2
    flagged = (await client.get(f"{BASE}/orders?attention=true", headers=admin)).json()["items"]
    assert [o["number"] for o in flagged] == [order["number"]]


async def test_overpayment_funds_and_flags_the_excess(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    buyer = Buyer(client)
    order = await buyer.order()
    r = await buyer.pay(order["token"], amount="0.01000000")
    assert r.json()["status"] == "funded"
    view = (await client.get(f"{BASE}/orders/{order['number']}", headers=admin)).json()
    assert view["needs_attention"]
    assert view["attention_reason"].startswith("overpaid by")
