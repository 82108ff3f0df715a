"""Bundle offers through the operator API and the buyer's quote, checkout and order: proposed from
history, priced only once approved, the same for every buyer, re-priced when the order is placed."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.audit.models import AuditEntry
from ordergate.settings import Settings
from tests.accounts.helpers import claim, email, order_for
from tests.checkout.test_sql_statements import counting
from tests.factories import DELIVERY, Buyer
from tests.recommendations.bundle_helpers import (
    BASE,
    BUNDLES,
    approved_bundle,
    cart,
    history,
    propose,
    quote,
)

NB, PEN = Decimal("14.50"), Decimal("7.90")
SHIPPING = Decimal("4.90")


async def test_proposals_come_from_history_and_price_nothing_until_approved(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    assert await propose(client, admin) == []  # no history, nothing to propose
    await history(client, sessionmaker)
    (proposal,) = await propose(client, admin, min_orders=3)
    assert (proposal["sku_a"], proposal["sku_b"]) == ("NB-A5-DOT", "PEN-FINE-BLK")
    assert proposal["state"] == "proposed"
    assert proposal["percent_off"] == 10
    assert proposal["support"] == 3
    assert proposal["label"] == (
        "A5 dotted notebook with Fine liner, black (3-pack): 10 % off Fine liner, black (3-pack)"
    )
    assert proposal["approved_by"] is None
    assert await propose(client, admin, min_orders=3) == []  # a pair is proposed once
    # A weaker pair with a lower threshold (bought together once, as often as each alone: a tie, so
    # the older product is the anchor); the pair already proposed is not proposed again.
    weaker = await propose(client, admin, min_orders=1)
    assert [(p["sku_a"], p["sku_b"], p["support"]) for p in weaker] == [("CASE-CANVAS", "STICKY-SET", 1)]

    chk = await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1})
    assert chk["totals"]["discount"] == "0.00"
    assert chk["totals"]["discounts"] == []
    assert (await quote(client, chk["id"]))["totals"]["total"] == str(NB + PEN + SHIPPING)

    listed = await client.get(BUNDLES, params={"state": "proposed"}, headers=admin)
    assert listed.status_code == 200
    assert proposal["id"] in [b["id"] for b in listed.json()["items"]]
    assert all(b["state"] == "proposed" for b in listed.json()["items"])


async def test_an_approved_bundle_prices_the_quote_the_checkout_and_the_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    bundle = await approved_bundle(client, sessionmaker, admin, percent_off=15)
    assert bundle["state"] == "approved"
    async with sessionmaker() as session:
        audited = (
            await session.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.actor))
        ).all()
    assert ("bundle.approve", str(bundle["id"]), bundle["approved_by"]) in audited
    assert "bundle.propose" in {action for action, _t, _a in audited}
    assert bundle["approved_by"].startswith("key ")
    assert bundle["approved_at"]
    # Two notebooks, three pens: two pens are discounted, 15 % of 7.90 each.
    chk = await cart(client, {"NB-A5-DOT": 2, "PEN-FINE-BLK": 3})
    discount = Decimal("2.37")  # 2 x 7.90 x 0.15 = 2.37
    total = 2 * NB + 3 * PEN - discount + SHIPPING
    assert chk["totals"]["subtotal"] == str(2 * NB + 3 * PEN)
    assert chk["totals"]["discount"] == str(discount)
    assert chk["totals"]["total"] == str(total)
    (line,) = chk["totals"]["discounts"]
    assert line == {
        "bundle": bundle["id"],
        "label": bundle["label"],
        "sku": "PEN-FINE-BLK",
        "units": 2,
        "amount": str(discount),
    }
    q = await quote(client, chk["id"])
    assert q["totals"] == chk["totals"]
    assert {o["method"]: o["amount"] for o in q["payment_options"]}["manual"] == str(total)

    buyer = Buyer(client)
    await client.patch(
        f"{BASE}/checkouts/{chk['id']}",
        json={"contact": {"email": "bundle@example.com"}, "delivery": DELIVERY},
    )
    r = await buyer.place(chk["id"], method="manual")
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["totals"] == chk["totals"]
    assert order["payment"]["amount"] == str(total)  # the payment asks for the discounted total
    pen = next(i for i in order["items"] if i["sku"] == "PEN-FINE-BLK")
    assert pen["line_total"] == str(3 * PEN)
    assert pen["discount"] == str(discount)
    tracked = await client.get(f"{BASE}/orders/{order['token']}")
    assert tracked.json()["totals"] == chk["totals"]
    operator = await client.get(f"{BASE}/admin/orders/{order['number']}", headers=admin)
    assert operator.json()["totals"]["discount"] == str(discount)


async def test_a_bundle_retired_after_the_quote_is_not_applied_when_the_order_is_placed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    bundle = await approved_bundle(client, sessionmaker, admin)
    buyer = Buyer(client)
    chk = await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1})
    await client.patch(
        f"{BASE}/checkouts/{chk['id']}", json={"contact": {"email": "late@example.com"}, "delivery": DELIVERY}
    )
    assert (await quote(client, chk["id"]))["totals"]["discount"] == "0.79"
    r = await client.post(f"{BUNDLES}/{bundle['id']}/retire", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "retired"
    assert r.json()["retired_at"]
    placed = await buyer.place(chk["id"])
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["totals"]["discount"] == "0.00"
    assert order["totals"]["discounts"] == []
    assert order["totals"]["total"] == str(NB + PEN + SHIPPING)
    # Retiring twice is a conflict; approving again offers it again.
    again = await client.post(f"{BUNDLES}/{bundle['id']}/retire", headers=admin)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "bundle"
    back = await client.post(f"{BUNDLES}/{bundle['id']}/approve", headers=admin)
    assert back.status_code == 200
    assert back.json()["state"] == "approved"
    assert back.json()["percent_off"] == 10
    assert back.json()["retired_at"] is None
    assert (await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1}))["totals"]["discount"] == "0.79"


async def test_an_order_placed_with_a_discount_keeps_it_after_the_bundle_is_retired(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    bundle = await approved_bundle(client, sessionmaker, admin)
    buyer = Buyer(client)
    chk = await buyer.ready(sku="PEN-FINE-BLK")
    await client.patch(
        f"{BASE}/checkouts/{chk['id']}",
        json={"items": [{"sku": "PEN-FINE-BLK", "quantity": 1}, {"sku": "NB-A5-DOT", "quantity": 1}]},
    )
    order = (await buyer.place(chk["id"])).json()
    assert order["totals"]["discount"] == "0.79"
    assert (await client.post(f"{BUNDLES}/{bundle['id']}/retire", headers=admin)).status_code == 200
    assert (await buyer.track(order["token"]))["totals"]["discount"] == "0.79"


async def test_a_signed_in_account_and_a_guest_get_the_same_price(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    admin: dict[str, str],
    settings: Settings,
) -> None:
    await approved_bundle(client, sessionmaker, admin)
    items = {"NB-A5-DOT": 3, "PEN-FINE-BLK": 2}
    guest = await quote(client, (await cart(client, items))["id"])
    address = email()
    order = await order_for(client, address)
    assert (await claim(client, sessionmaker, settings, order["token"], address)).status_code == 201
    account_base = "/api/v1/account/stores/demo"
    mine = await quote(client, (await cart(client, items, base=account_base))["id"], base=account_base)
    assert mine["totals"] == guest["totals"]
    assert mine["totals"]["discount"] == "1.58"
    assert [line["unit_price"] for line in mine["lines"]] == [line["unit_price"] for line in guest["lines"]]
    # The guest route with the account's session cookie still prices as for anyone.
    same = await quote(client, (await cart(client, items))["id"])
    assert same["totals"] == guest["totals"]


async def test_the_operator_api_checks_keys_states_and_percents(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    assert (await client.get(BUNDLES)).status_code == 401
    assert (await client.post(f"{BUNDLES}/proposals", json={})).status_code == 401
    await history(client, sessionmaker)
    (proposal,) = await propose(client, admin)
    path = f"{BUNDLES}/{proposal['id']}"
    for percent in (0, 91, 12.5, "10"):
        r = await client.post(f"{path}/approve", json={"percent_off": percent}, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "percent_off"
    assert (await client.post(f"{BUNDLES}/999999/approve", headers=admin)).status_code == 404
    r = await client.post(f"{BUNDLES}/proposals", json={"limit": 0}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "limit"
    assert (await client.get(BUNDLES, params={"state": "gone"}, headers=admin)).status_code == 422
    # Declining a proposal is retiring it: it never priced anything.
    r = await client.post(f"{path}/retire", headers=admin)
    assert r.status_code == 200
    assert r.json()["approved_at"] is None
    got = await client.get(path, headers=admin)
    assert got.status_code == 200
    assert got.json()["state"] == "retired"
    # An archived product's bundle cannot be approved.
    r = await client.patch(f"{BASE}/admin/products/PEN-FINE-BLK", json={"status": "archived"}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.post(f"{path}/approve", headers=admin)
    assert r.status_code == 409
    assert "PEN-FINE-BLK" in r.json()["detail"]


async def test_refunds_never_give_back_more_than_the_discounted_order_paid(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    await approved_bundle(client, sessionmaker, admin, percent_off=20)
    buyer = Buyer(client)
    chk = await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 2})
    await client.patch(
        f"{BASE}/checkouts/{chk['id']}",
        json={"contact": {"email": f"r-{uuid.uuid4().hex[:6]}@example.com"}, "delivery": DELIVERY},
    )
    order = (await buyer.place(chk["id"])).json()
    assert order["totals"]["discount"] == "1.58"  # one pen of two at 20 %
    assert (await buyer.pay(order["token"])).status_code == 201
    refunds = f"{BASE}/admin/orders/{order['number']}/refunds"
    # One pen of two: half the pens' line after its discount, (15.80 - 1.58) / 2 = 7.11.
    r = await client.post(
        refunds,
        json={"lines": [{"sku": "PEN-FINE-BLK", "quantity": 1}], "restock": False, "reason": "t"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == "7.11"
    # Everything else: the rest of what was paid, to the cent.
    rest = await client.post(refunds, json={"restock": False, "reason": "all"}, headers=admin)
    assert rest.status_code == 201, rest.text
    paid = Decimal(order["totals"]["total"])
    assert Decimal(r.json()["amount"]) + Decimal(rest.json()["amount"]) == paid
    more = await client.post(refunds, json={"amount": "0.01", "restock": False, "reason": "x"}, headers=admin)
    assert more.status_code == 409


async def _cached(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The store (with its approved bundles) read into the cache once every change committed so far
    has been heard of (an approval's notice arrives after its commit)."""
    await app.state.store_cache.settle()
    assert (await client.get(BASE)).status_code == 200


async def test_bundles_add_no_statement_to_a_checkout_step_or_the_placement(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    admin: dict[str, str],
) -> None:
    await approved_bundle(client, sessionmaker, admin)
    buyer = Buyer(client)
    await buyer.policies()
    chk = await cart(client, {"NB-A5-DOT": 1, "PEN-FINE-BLK": 1})
    path = f"{BASE}/checkouts/{chk['id']}"
    await _cached(app, client)
    with counting(app) as statements:
        r = await client.patch(path, json={"contact": {"email": "count@example.com"}, "delivery": DELIVERY})
    assert r.status_code == 200
    assert r.json()["totals"]["discount"] == "0.79"
    assert len(statements) <= 3, "\n".join(statements)
    with counting(app) as statements:
        assert (await quote(client, chk["id"]))["totals"]["discount"] == "0.79"
    assert len(statements) <= 3, "\n".join(statements)
    await _cached(app, client)
    with counting(app) as statements:
        r = await buyer.place(chk["id"])
    assert r.status_code == 201, r.text
    assert r.json()["totals"]["discount"] == "0.79"
    # Placement's ceiling (8) plus the second line's UPDATE and, on SQLite, its own INSERT.
    assert len(statements) <= 8 + 2, "\n".join(statements)
