"""Paying a Stripe order by card on its order page: Stripe's Payment Element, mounted by our own
/static/card.js from the form's data attributes, under a CSP that allows Stripe's documented hosts on
that page only (docs.stripe.com/security/guide, "Content Security Policy"). The PaymentIntent's
client secret reaches the order page and nothing else: not the tracking API, not the database in the
clear, not the logs (docs.stripe.com/api/payment_intents/object, `client_secret`)."""

from __future__ import annotations

import html
import json
import logging
import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.payments.models import PaymentInstruction
from ordergate.settings import Settings
from tests.factories import Buyer
from tests.payments.helpers import btcpay_method, callback, shop, stripe_method
from tests.payments.servers import Btcpay, Stripe

STRIPE_HOSTS = {
    "script-src": "'self' https://js.stripe.com https://*.js.stripe.com",
    "frame-src": "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
    "connect-src": "'self' https://api.stripe.com",
}


def policy(response: httpx.Response) -> dict[str, str]:
    header = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in header.split("; ")}


def words(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def data(page: str, name: str) -> str | None:
    found = re.search(rf'data-{name}="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


async def test_the_order_page_of_a_card_order_mounts_stripes_payment_element(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    stripe: Stripe,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await shop(sessionmaker, [stripe_method(stripe)])
    order = await Buyer(client, store="shop").order(method="card")
    page = await client.get(f"/s/shop/orders/{order['token']}")
    assert page.status_code == 200
    [intent] = stripe.intents.values()
    secret = str(intent["client_secret"])
    assert re.fullmatch(r"pi_\w+_secret_\w+", secret)  # the shape Stripe's API reference shows

    text = words(page.text)
    assert "Pay €19.40 by card on this page" in text
    assert "Card payment needs JavaScript" in text  # shown when scripts do not run
    assert "payment link" not in text
    assert "Pay to address" not in text
    csp = policy(page)
    for directive, sources in STRIPE_HOSTS.items():
        assert csp[directive] == sources
    assert csp["default-src"] == "'none'"
    assert csp["style-src"] == "'self'"
    # Stripe.js from js.stripe.com itself (docs.stripe.com/js/including), our own script beside it,
    # and no inline script at all.
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert all("src=" in attributes for attributes in scripts)
    assert '<script src="https://js.stripe.com/v3/" async></script>' in page.text
    assert re.search(r'<script src="/static/card\.js\?v=\w+" defer></script>', page.text)
    assert data(page.text, "publishable-key") == "pk_test_51OrderGateLocal"
    assert data(page.text, "client-secret") == secret
    assert (
        data(page.text, "return-url") == f"{settings.base_url}/s/shop/orders/{order['token']}"
    )  # the tracking link
    card_js = await client.get("/static/card.js")
    assert card_js.status_code == 200
    assert "confirmPayment" in card_js.text
    assert "data-client-secret" in card_js.text or "client-secret" in card_js.text

    # Nowhere else: not the tracking API (the page's live updates read it), nor the store's or the
    # operator's views, nor the database in the clear, nor any log line.
    api = await client.get(f"/api/v1/stores/shop/orders/{order['token']}")
    assert api.status_code == 200
    assert secret not in api.text
    assert "sealed" not in api.text
    assert api.json()["payment"]["details"] == {"publishable_key": "pk_test_51OrderGateLocal"}
    async with sessionmaker() as session:
        [details] = (await session.scalars(select(PaymentInstruction.details))).all()
    assert secret not in json.dumps(details)
    assert str(details["sealed"]["client_secret"]).startswith("v1.")
    logged = capsys.readouterr()
    records = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert caplog.records  # the requests above did log
    for text_out in (logged.out, logged.err, records):
        assert secret not in text_out


async def test_only_a_payable_card_order_loads_stripe(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    stripe: Stripe,
    btcpay: Btcpay,
) -> None:
    await shop(sessionmaker, [stripe_method(stripe), btcpay_method(btcpay)])
    other = await Buyer(client, store="shop").order(method="btcpay")
    plain = await client.get(f"/s/shop/orders/{other['token']}")
    assert plain.status_code == 200
    assert "stripe" not in plain.headers["content-security-policy"]
    assert "frame-src" not in policy(plain)
    assert "js.stripe.com" not in plain.text
    assert "card.js" not in plain.text
    assert data(plain.text, "client-secret") is None

    order = await Buyer(client, store="shop").order(method="card")
    page = await client.get(f"/s/shop/orders/{order['token']}")
    assert data(page.text, "client-secret") is not None
    # A wrong token is the lost-link page: no card form, no Stripe.
    lost = await client.get(f"/s/shop/orders/{str(order['token'])[:-2]}xx")
    assert lost.status_code == 404
    assert "js.stripe.com" not in lost.text + lost.headers["content-security-policy"]

    # Paid (Stripe's payment_intent.succeeded webhook): the form and Stripe.js are gone.
    [intent_id] = stripe.intents
    body, _ = stripe.succeed(intent_id)
    assert (await callback(client, "stripe", stripe.sign(body))).status_code == 200
    paid = await client.get(f"/s/shop/orders/{order['token']}")
    assert paid.status_code == 200
    assert "js.stripe.com" not in paid.text + paid.headers["content-security-policy"]
    assert data(paid.text, "client-secret") is None
    assert str(stripe.intents[intent_id]["client_secret"]) not in paid.text


async def test_a_seal_this_server_cannot_open_gives_a_clear_message_not_a_broken_form(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    order = await Buyer(client, store="shop").order(method="card")
    assert (await client.get(f"/s/shop/orders/{order['token']}")).status_code == 200
    async with sessionmaker() as session, session.begin():
        row = (await session.scalars(select(PaymentInstruction))).one()
        row.details = {**row.details, "sealed": {"client_secret": "v1.c2VhbGVkIGVsc2V3aGVyZQ"}}
    page = await client.get(f"/s/shop/orders/{order['token']}")
    assert page.status_code == 200
    assert "The card form cannot be shown right now" in words(page.text)
    assert "js.stripe.com" not in page.text + page.headers["content-security-policy"]
