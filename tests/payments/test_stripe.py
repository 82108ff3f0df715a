"""Stripe: a PaymentIntent per order (client secret sealed, for the buyer's page only), signed events with a
300 s tolerance, `payment_intent.succeeded` funds the order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import stripe as stripe_sdk
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.payments.protocol import PendingInstruction
from ordergate.payments.stripe import API_VERSION, StripeProvider
from tests.factories import Buyer
from tests.payments.helpers import (
    attention,
    callback,
    operator_order,
    prepared,
    shop,
    stripe_method,
    worker_pass,
)
from tests.payments.servers import Stripe


async def _order(client: httpx.AsyncClient) -> tuple[dict[str, object], str]:
    order = await Buyer(client, store="shop").order(method="card")
    view = await prepared(client, str(order["token"]))
    return view, str(view["payment"]["destination"])  # type: ignore[index]


async def test_payment_intent_per_order_and_its_client_secret_for_the_page(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    store = (await client.get("/api/v1/stores/shop")).json()
    assert store["payment_methods"][0]["ready"] is True
    assert store["payment_methods"][0]["asset"] == "EUR"
    view, intent_id = await _order(client)
    [form] = stripe.forms
    assert form["amount"] == "1940"
    assert form["currency"] == "eur"
    assert form["automatic_payment_methods[enabled]"] == "true"
    assert form["metadata[ordergate_order]"] == view["number"]
    pay = view["payment"]
    assert pay["asset"] == "EUR"
    assert pay["amount"] == "19.40"
    assert intent_id.startswith("pi_")
    # The tracking API's answer names the publishable key, never the client secret (nor its seal):
    # only the order page's card form carries it (tests/payments/test_card_form.py).
    assert pay["details"] == {"publishable_key": "pk_test_51OrderGateLocal"}  # type: ignore[index]


async def test_a_retried_request_gets_the_same_payment_intent(stripe: Stripe) -> None:
    pending = PendingInstruction(7, "K7QF-M2XD", "shop", Decimal("19.40"), "EUR", clock.now())
    config = {
        "secret_key": stripe.secret_key,
        "webhook_secret": stripe.webhook_secret,
        "publishable_key": "pk_test_51OrderGateLocal",
        "api_url": stripe.url,
    }
    async with httpx.AsyncClient() as http:
        first = await StripeProvider().prepare(config, pending, http)
        second = await StripeProvider().prepare(config, pending, http)
    assert first.provider_ref == second.provider_ref
    assert len(stripe.intents) == 1


async def test_signed_success_funds_once_forged_or_stale_changes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    view, intent_id = await _order(client)
    number = str(view["number"])
    body, _ = stripe.succeed(intent_id)
    assert (await callback(client, "stripe", stripe.sign(body, secret="whsec_forged0000"))).status_code == 401
    stale = int(clock.now().timestamp()) - 301
    assert (await callback(client, "stripe", stripe.sign(body, at=stale))).status_code == 401
    assert (await operator_order(client, number))["status"] == "awaiting_payment"

    r = await callback(client, "stripe", stripe.sign(body))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "processed", r.text
    order = await operator_order(client, number)
    assert order["status"] == "funded"
    assert order["payment"]["received_amount"] == "19.40"
    r = await callback(client, "stripe", stripe.sign(body))
    assert r.json()["status"] == "duplicate"
    assert len((await operator_order(client, number))["events"]) == len(order["events"])


async def test_failed_attempt_and_other_events_leave_the_order_waiting(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    view, intent_id = await _order(client)
    r = await callback(
        client, "stripe", stripe.event("payment_intent.payment_failed", stripe.intents[intent_id])
    )
    assert r.json()["status"] == "processed"
    r = await callback(client, "stripe", stripe.event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    assert r.json()["status"] == "ignored"
    order = await operator_order(client, str(view["number"]))
    assert order["status"] == "awaiting_payment"
    assert order["payment"]["state"] == "pending"


async def test_success_after_the_order_expired_is_flagged_not_funded(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    view, intent_id = await _order(client)
    await worker_pass(sessionmaker, after=timedelta(minutes=21))  # window and grace over
    assert (await operator_order(client, str(view["number"])))["status"] == "expired"
    r = await callback(client, "stripe", stripe.succeed(intent_id))
    assert r.json()["status"] == "processed"
    order = await operator_order(client, str(view["number"]))
    assert order["status"] == "expired"
    assert order["payment"]["received_amount"] == "19.40"
    assert (await attention(client))[str(view["number"])] == (
        "late payment of 19.40 EUR arrived while the order was expired: not funded at the old rate"
    )


async def test_success_within_the_grace_after_expiry_still_funds(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    view, intent_id = await _order(client)
    clock.advance(timedelta(minutes=15, seconds=30))  # the card was being confirmed as the window closed
    r = await callback(client, "stripe", stripe.succeed(intent_id))
    assert r.json()["status"] == "processed"
    assert (await operator_order(client, str(view["number"])))["status"] == "funded"


async def test_wrong_secret_key_makes_the_method_not_ready(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe, secret_key="sk_test_wrong000000")])
    store = (await client.get("/api/v1/stores/shop")).json()
    assert store["payment_methods"][0]["reason"] == "stripe_unauthorized"
    assert store["guest_checkout"] == {"available": False, "reason": "no_ready_payment_method"}


# (currency, order total, Stripe's integer amount, what the buyer is asked to pay) as Stripe's
# currencies page lays them out (docs.stripe.com/currencies): two decimals by default even where
# ISO says none (RSD), whole units for zero-decimal ones, ISK/UGX with two decimals that are 00,
# HUF/TWD with two decimals, three-decimal currencies rounded up to a last digit of 0.
STRIPE_AMOUNTS = [
    ("EUR", "19.40", 1940, "19.40"),
    ("JPY", "1940", 1940, "1940"),
    ("KRW", "19400", 19400, "19400"),
    ("ISK", "1940", 194000, "1940"),
    ("UGX", "5000", 500000, "5000"),
    ("RSD", "1940", 194000, "1940"),
    ("LAK", "125000", 12500000, "125000"),
    ("HUF", "1940.50", 194050, "1940.50"),
    ("TWD", "640.25", 64025, "640.25"),
    ("KWD", "5.124", 5130, "5.130"),
    ("BHD", "12.500", 12500, "12.500"),
]


@pytest.mark.parametrize(("currency", "total", "minor", "asked"), STRIPE_AMOUNTS)
async def test_payment_intent_amounts_follow_stripes_currency_table(
    stripe: Stripe, currency: str, total: str, minor: int, asked: str
) -> None:
    pending = PendingInstruction(8, "K7QF-M2XE", "shop", Decimal(total), currency, clock.now())
    config = stripe_method(stripe)["settings"]
    async with httpx.AsyncClient() as http:
        prepared_intent = await StripeProvider().prepare(config, pending, http)
    [form] = stripe.forms
    assert form["amount"] == str(minor)
    assert form["currency"] == currency.lower()
    assert format(prepared_intent.amount, "f") == asked
    # Stripe reports the money received in the same units: reading it back gives what was asked.
    body, _ = stripe.succeed(prepared_intent.provider_ref)
    [evidence] = StripeProvider().parse_callback(body).evidence
    assert evidence.amount == Decimal(asked)
    assert evidence.asset == currency


async def test_requests_carry_the_pinned_api_version_of_the_sdk(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    await _order(client)
    assert stripe.versions
    assert set(stripe.versions) == {API_VERSION}
    # The version pinned is the one the stripe SDK in requirements.lock speaks and builds events in.
    assert stripe_sdk.api_version == API_VERSION


async def test_a_one_percent_payment_in_isk_does_not_fund_the_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    """CLDR gives ISK no decimals, Stripe two: read with CLDR's exponent a 1 % payment looked whole."""
    products = [{"sku": "NB-A5-DOT", "name": "A5 dotted notebook", "price": "2490", "stock": 100}]
    await shop(sessionmaker, [stripe_method(stripe)], currency="ISK", shipping_flat="990", products=products)
    view, intent_id = await _order(client)
    assert view["payment"]["amount"] == "3480"
    assert stripe.forms[0]["amount"] == "348000"
    number = str(view["number"])
    r = await callback(client, "stripe", stripe.succeed(intent_id, amount=3500))  # 35 ISK of 3480
    assert r.status_code == 200
    order = await operator_order(client, number)
    assert order["status"] == "awaiting_payment"
    assert order["payment"]["received_amount"] == "35"
