"""Checkout sessions: validation and normalisation, what is missing, expiry after the last change, resume."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.checkout.models import Checkout
from ordergate.security import hash_token
from ordergate.worker import run_once
from tests.factories import ADMIN_KEY, DELIVERY, SKU, Buyer

BASE = "/api/v1/stores/demo"


async def test_contact_is_validated_and_normalised(client: httpx.AsyncClient) -> None:
    chk = await Buyer(client).open()
    url = f"{BASE}/checkouts/{chk['id']}"
    bad = await client.patch(url, json={"contact": {"email": "ada@", "phone": "12"}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"contact.email", "contact.phone"}
    bad = await client.patch(url, json={"contact": {"phone": "020 7946 0958", "phone_region": "XX"}})
    assert "contact.phone_region" in [e["field"] for e in bad.json()["errors"]]
    ok = await client.patch(
        url, json={"contact": {"email": " Ada@Example.COM ", "phone": "020 7946 0958", "phone_region": "gb"}}
    )
    assert ok.json()["contact"] == {"email": "Ada@example.com", "phone": "+442079460958"}
    # A later patch of one contact field keeps the other.
    ok = await client.patch(url, json={"contact": {"email": "ada@example.net"}})
    assert ok.json()["contact"] == {"email": "ada@example.net", "phone": "+442079460958"}


async def test_delivery_fields_are_checked(client: httpx.AsyncClient) -> None:
    chk = await Buyer(client).open()
    url = f"{BASE}/checkouts/{chk['id']}"
    bad = await client.patch(url, json={"delivery": {"country": "Narnia"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "delivery.country"
    bad = await client.patch(url, json={"delivery": {"favourite_colour": "blue"}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "delivery.favourite_colour"
    partial = await client.patch(url, json={"delivery": {"name": "Ada", "country": "gb"}})
    assert partial.json()["delivery"] == {"name": "Ada", "country": "GB"}
    assert partial.json()["missing"] == [
        "contact",
        "delivery.address_line1",
        "delivery.city",
        "delivery.postal_code",
    ]


async def test_items_are_validated(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{BASE}/checkouts", json={"items": [{"sku": SKU, "quantity": 1}, {"sku": "nope", "quantity": 1}]}
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "items[1].sku", "message": "no product 'nope' in this store"}]
    r = await client.post(f"{BASE}/checkouts", json={"items": [{"sku": SKU, "quantity": 0}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "items[0].quantity"
    merged = await client.post(
        f"{BASE}/checkouts", json={"items": [{"sku": SKU, "quantity": 1}, {"sku": SKU, "quantity": 2}]}
    )
    assert [(i["sku"], i["quantity"]) for i in merged.json()["items"]] == [(SKU, 3)]


async def test_checkout_expires_after_its_last_change(client: httpx.AsyncClient) -> None:
    chk = await Buyer(client).open()
    url = f"{BASE}/checkouts/{chk['id']}"
    clock.advance(timedelta(hours=23))
    assert (await client.patch(url, json={"contact": {"email": "a@example.com"}})).status_code == 200
    clock.advance(timedelta(hours=23))  # 46 h after opening, 23 h after the change
    assert (await client.get(url)).status_code == 200
    clock.advance(timedelta(hours=2))
    r = await client.get(url)
    assert r.status_code == 410
    assert r.json()["type"] == "checkout-expired"
    assert (await client.post(f"{url}/quote")).status_code == 410
    assert (await Buyer(client).place(chk["id"])).status_code == 410


async def test_sweep_drops_personal_data_of_expired_checkouts(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    chk = await Buyer(client).ready()
    clock.advance(timedelta(hours=25))
    assert (await run_once(sessionmaker)).checkouts_expired == 1
    async with sessionmaker() as session:
        row = await session.scalar(select(Checkout).where(Checkout.id_hash == hash_token(chk["id"])))
        assert row is not None
        assert (row.status, row.email, row.phone, row.delivery) == ("expired", None, None, None)


async def test_resume_link_opens_the_same_checkout(client: httpx.AsyncClient) -> None:
    chk = await Buyer(client).ready()
    assert chk["resume_url"] == f"http://test/s/demo/checkout/{chk['id']}"
    again = (await client.get(f"{BASE}/checkouts/{chk['id']}")).json()
    assert again["delivery"] == DELIVERY
    assert again["missing"] == []


async def test_checkout_ids_are_stored_only_hashed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    chk = await Buyer(client).open()
    assert len(chk["id"]) >= 22
    async with sessionmaker() as session:
        ids = (await session.scalars(select(Checkout.id_hash))).all()
    assert chk["id"] not in ids
    assert hash_token(chk["id"]) in ids


async def test_a_checkout_belongs_to_one_store(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from tests.factories import make_store

    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other")
    chk = await Buyer(client).open()
    r = await client.get(f"/api/v1/stores/other/checkouts/{chk['id']}")
    assert r.status_code == 404


async def test_an_expired_checkout_is_410_even_before_the_sweep(client: httpx.AsyncClient) -> None:
    chk = await Buyer(client).ready()
    clock.advance(timedelta(days=2))  # past the 24 h checkout time; the worker has not run
    r = await client.get(f"/api/v1/stores/demo/checkouts/{chk['id']}")
    assert r.status_code == 410
    assert r.json()["type"] == "checkout-expired"
    assert (await client.get(f"/s/demo/checkout/{chk['id']}")).status_code == 410


async def test_the_sweep_drops_the_buyer_details_of_completed_checkouts(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    buyer = Buyer(client)
    chk = await buyer.ready()
    placed_order = await buyer.place(chk["id"])
    assert placed_order.status_code == 201
    open_one = await buyer.ready()  # still open, not expired: keeps its details
    await run_once(sessionmaker)
    async with sessionmaker() as session:
        rows = {c.id_hash: c for c in (await session.scalars(select(Checkout))).all()}
    placed = rows[hash_token(chk["id"])]
    assert placed.status == "completed"
    assert (placed.email, placed.phone, placed.delivery) == (None, None, None)
    still_open = rows[hash_token(open_one["id"])]
    assert still_open.email is not None
    assert still_open.delivery is not None
    # The order kept its own copy.
    number = placed_order.json()["number"]
    order_view = await client.get(
        f"/api/v1/stores/demo/admin/orders/{number}", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert order_view.json()["delivery"]["city"] == DELIVERY["city"]


async def test_the_first_quote_is_stamped_once_and_a_refused_quote_stamps_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async def quoted_at(checkout_id: str) -> object:
        async with sessionmaker() as session:
            return await session.scalar(
                select(Checkout.quoted_at).where(Checkout.id_hash == hash_token(checkout_id))
            )

    chk = await Buyer(client).ready()
    url = f"{BASE}/checkouts/{chk['id']}/quote"
    assert await quoted_at(chk["id"]) is None
    first = await client.post(url)
    assert first.status_code == 200, first.text
    stamped = await quoted_at(chk["id"])
    assert stamped is not None
    clock.advance(timedelta(minutes=3))
    again = await client.post(url)
    assert again.status_code == 200
    assert again.json()["lines"] == first.json()["lines"]
    assert await quoted_at(chk["id"]) == stamped  # the funnel counts the first quote shown

    late = await Buyer(client).ready()
    clock.advance(timedelta(hours=25))
    expired = await client.post(f"{BASE}/checkouts/{late['id']}/quote")
    assert expired.status_code == 410
    assert expired.json()["type"] == "checkout-expired"
    assert await quoted_at(late["id"]) is None
    unknown = await client.post(f"{BASE}/checkouts/{'x' * 43}/quote")
    assert unknown.status_code == 404
    # A guest quoting an account's checkout: tests/accounts/test_sessions.py.
