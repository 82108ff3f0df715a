"""Bundle offers on the buyer's pages and messages, over HTTP: the checkout page offers the missing
half of an approved bundle with its saving, "Add" brings the discount line into the totals, and the
thank-you page, the confirmation email and the suggestions API say the same to every buyer."""

from __future__ import annotations

import re
from email import message_from_string
from email.message import Message

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.settings import Settings
from ordergate.worker import run_once
from tests.accounts.helpers import claim, email, order_for
from tests.factories import DELIVERY, Buyer
from tests.recommendations.bundle_helpers import BASE, BUNDLES, approved_bundle, cart, history, propose
from tests.recommendations.test_pages import ADD_FORM
from tests.test_pages import checkout_form, csrf_of, open_checkout

NB, PEN = "NB-A5-DOT", "PEN-FINE-BLK"
PEN_NAME = "Fine liner, black (3-pack)"
LABEL = f"A5 dotted notebook with {PEN_NAME}: 10 % off {PEN_NAME}"


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_checkout_page_offers_the_bundle_and_add_shows_the_discount_in_the_totals(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    await approved_bundle(client, sessionmaker, admin)
    path = await open_checkout(client, (NB, 2))
    page = await client.get(path)
    shown = words(page.text)
    assert f"Add {PEN_NAME}: save 10 % with your A5 dotted notebook" in shown
    assert "You save €0.79 on each one bought with your A5 dotted notebook" in shown
    offered = ADD_FORM.findall(page.text)
    assert offered[0][1] == PEN  # the operator's offer comes first
    assert "You save" not in shown.split("Goes well with your order")[0]  # no discount yet

    r = await client.post(
        offered[0][0], data={"csrf": csrf_of(page.text), "sku": PEN, "reason": "bought_together"}
    )
    assert r.status_code == 303, r.text
    after = await client.get(r.headers["location"])
    shown = words(after.text)
    # 2 x 14.50 + 7.90 - 0.79 + 4.90 shipping
    assert f"Added {PEN_NAME}. Your new total is €41.01." in shown
    assert f"{LABEL} \u2212€0.79" in shown  # a minus sign
    assert "You save €0.79 with a bundle." in shown
    assert "Total €41.01" in shown

    # Placed on the page: the order, its thank-you page and its confirmation say the same.
    placed = await client.post(path, data=checkout_form(after.text))
    assert placed.status_code == 303, placed.text
    thanks = words((await client.get(placed.headers["location"])).text)
    assert f"{LABEL} \u2212€0.79" in thanks
    assert "Total €41.01" in thanks


async def test_the_confirmation_email_shows_the_discount(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    admin: dict[str, str],
    settings: Settings,
) -> None:
    await approved_bundle(client, sessionmaker, admin)
    await run_once(sessionmaker, settings)  # the history's own messages out of the way
    before = set((settings.var_dir / "mail").glob("*.eml"))
    order = await order_for(client, "bundle-mail@example.com", sku=NB)  # a notebook alone: no discount
    chk = await cart(client, {NB: 1, PEN: 1})
    await client.patch(
        f"{BASE}/checkouts/{chk['id']}",
        json={"contact": {"email": "bundle-mail@example.com"}, "delivery": DELIVERY},
    )
    bundled = (await Buyer(client).place(chk["id"])).json()
    await run_once(sessionmaker, settings)
    mails = [
        message_from_string(p.read_text()) for p in set((settings.var_dir / "mail").glob("*.eml")) - before
    ]
    (mine,) = [m for m in mails if bundled["number"] in str(m["Subject"])]
    text, html = (_body(mine, kind) for kind in ("text/plain", "text/html"))
    assert f"{LABEL}  -€0.79" in text
    assert "Total     €26.51" in text  # 14.50 + 7.90 - 0.79 + 4.90
    assert LABEL in html
    assert "&minus;€0.79" in html
    (plain,) = [m for m in mails if order["number"] in str(m["Subject"])]
    assert "% off" not in _body(plain, "text/plain")


def _body(message: Message, kind: str) -> str:
    for part in message.walk():
        if part.get_content_type() == kind:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no {kind} part")


async def test_suggestions_carry_the_offer_the_same_for_a_guest_and_an_account(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    admin: dict[str, str],
    settings: Settings,
) -> None:
    await history(client, sessionmaker)
    (proposal,) = await propose(client, admin, min_orders=3)
    chk = await cart(client, {NB: 1})
    path = f"{BASE}/checkouts/{chk['id']}/recommendations"
    before = (await client.get(path)).json()["items"]
    assert all(item["offer"] is None for item in before)  # proposed is not offered
    r = await client.post(f"{BUNDLES}/{proposal['id']}/approve", json={"percent_off": 25}, headers=admin)
    assert r.status_code == 200
    guest = (await client.get(path)).json()["items"]
    assert guest[0]["sku"] == PEN
    assert guest[0]["offer"] == {
        "bundle": proposal["id"],
        "with_sku": NB,
        "with_name": "A5 dotted notebook",
        "percent_off": 25,
        "saving": "1.98",  # 7.90 x 25 % = 1.975, rounded half-even to the cent
        "label": f"A5 dotted notebook with {PEN_NAME}: 25 % off {PEN_NAME}",
    }
    # Only a cart holding A gets the offer on B.
    other = await cart(client, {"CASE-CANVAS": 1})
    items = (await client.get(f"{BASE}/checkouts/{other['id']}/recommendations")).json()["items"]
    assert all(item["offer"] is None for item in items)

    address = email()
    order = await order_for(client, address)
    assert (await claim(client, sessionmaker, settings, order["token"], address)).status_code == 201
    account = "/api/v1/account/stores/demo"
    mine = await cart(client, {NB: 1}, base=account)
    theirs = (await client.get(f"{account}/checkouts/{mine['id']}/recommendations")).json()["items"]
    assert theirs[0]["offer"] == guest[0]["offer"]
    assert theirs[0]["price"] == guest[0]["price"]


async def test_the_thank_you_page_suggests_b_without_promising_the_bundle_saving(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    """Its "Add" starts a new checkout without the order's notebook: no bundle applies there."""
    await approved_bundle(client, sessionmaker, admin)
    order = await order_for(client, email(), sku=NB)
    page = await client.get(f"/s/demo/orders/{order['token']}")
    assert page.status_code == 200
    assert ADD_FORM.findall(page.text)[0][1] == PEN
    assert "save 10 %" not in words(page.text)
    assert "Often bought together with your items" in words(page.text)
