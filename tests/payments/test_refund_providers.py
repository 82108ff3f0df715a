"""Refunds through the providers' own APIs, against local stand-ins written from their references:
Stripe's POST /v1/refunds (the request compared with the one the official `stripe` SDK sends) and
BTCPay's invoice refund (a pull payment whose claim link goes to the buyer)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import stripe as stripe_sdk
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.notifications.models import OutboxMessage
from tests.factories import Buyer
from tests.payments.helpers import (
    SHOP_ADMIN,
    btcpay_method,
    callback,
    operator_order,
    prepared,
    shop,
    stripe_method,
    worker_pass,
)
from tests.payments.servers import Btcpay, Stripe

REFUNDS = "/api/v1/stores/shop/admin/orders/{}/refunds"


async def paid_by_card(client: httpx.AsyncClient, stripe: Stripe) -> tuple[str, str]:
    order = await Buyer(client, store="shop").order(method="card")
    view = await prepared(client, order["token"])
    intent_id = str(view["payment"]["destination"])
    r = await callback(client, "stripe", stripe.succeed(intent_id))
    assert r.json()["status"] == "processed", r.text
    return str(order["number"]), intent_id


async def refund(client: httpx.AsyncClient, number: str, **body: Any) -> httpx.Response:
    return await client.post(REFUNDS.format(number), json={"reason": "r", **body}, headers=SHOP_ADMIN)


async def test_stripe_refund_partial_then_the_rest(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    number, intent_id = await paid_by_card(client, stripe)
    r = await refund(client, number, amount="5.00")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "succeeded"
    assert body["provider_reference"].startswith("re_")
    [(form, headers)] = stripe.refund_requests
    assert form == {
        "payment_intent": intent_id,
        "amount": "500",
        "reason": "requested_by_customer",
        "metadata[ordergate_refund]": body["id"],
        "metadata[ordergate_order]": number,
        "metadata[ordergate_store]": "shop",
    }
    assert headers["idempotency-key"] == f"ordergate-{body['id']}"
    assert headers["authorization"] == f"Bearer {stripe.secret_key}"

    # The same refund as Stripe's own SDK would ask for it: same fields, same encoding.
    def sdk_request() -> None:
        client_ = stripe_sdk.StripeClient(stripe.secret_key, base_addresses={"api": stripe.url})
        client_.v1.refunds.create(
            {
                "payment_intent": intent_id,
                "amount": 500,
                "reason": "requested_by_customer",
                "metadata": {
                    "ordergate_refund": body["id"],
                    "ordergate_order": number,
                    "ordergate_store": "shop",
                },
            },
            {"idempotency_key": f"ordergate-{body['id']}"},
        )

    await asyncio.to_thread(sdk_request)
    sdk_form, sdk_headers = stripe.refund_requests[-1]
    assert sdk_form == form
    assert sdk_headers["idempotency-key"] == headers["idempotency-key"]
    assert len(stripe.refunds) == 1  # the SDK's request hit the same idempotency key: no second refund

    rest = await refund(client, number)
    assert rest.status_code == 201
    assert rest.json()["amount"] == "14.40"
    order = await operator_order(client, number)
    assert order["status"] == "refunded"
    assert order["refunded_amount"] == "19.40"


async def test_stripe_refusal_fails_the_refund_and_frees_the_amount(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    number, intent_id = await paid_by_card(client, stripe)
    stripe.intents[intent_id]["amount_received"] = 1000  # Stripe holds less than we think
    r = await refund(client, number, amount="15.00")
    assert r.status_code == 201
    assert r.json()["state"] == "failed"
    assert "greater than unrefunded amount" in r.json()["detail"]
    ok = await refund(client, number, amount="10.00")
    assert ok.json()["state"] == "succeeded"
    order = await operator_order(client, number)
    assert order["refunded_amount"] == "10.00"
    assert order["status"] == "funded"
    assert any(e["type"] == "refund_failed" for e in order["events"])


async def test_stripe_down_leaves_the_refund_pending_and_holding(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    number, _ = await paid_by_card(client, stripe)
    stripe.down = True
    r = await refund(client, number)
    assert r.status_code == 201
    assert r.json()["state"] == "pending"
    assert "asked again" in r.json()["detail"]
    assert (await refund(client, number, amount="0.01")).status_code == 409  # the pending one holds it all

    stripe.down = False
    await worker_pass(sessionmaker, after=timedelta(seconds=30))
    assert (await operator_order(client, number))["refunds"][0]["state"] == "pending"  # not yet due
    await worker_pass(sessionmaker, after=timedelta(seconds=40))
    order = await operator_order(client, number)
    assert order["refunds"][0]["state"] == "succeeded"
    assert order["status"] == "refunded"
    assert len(stripe.refunds) == 1
    await worker_pass(sessionmaker, after=timedelta(minutes=5))
    assert len(stripe.refund_requests) == 1  # the worker's (the first try found Stripe down); none after


async def test_btcpay_refund_is_a_pull_payment_the_buyer_claims(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    btcpay.default_method = "BTC-LN"  # the store's default is Lightning; the order was paid on-chain
    order = await Buyer(client, store="shop").order(method="btcpay")
    view = await prepared(client, order["token"])
    invoice_id = str(view["payment"]["details"]["invoice_id"])
    await callback(client, "btcpay", btcpay.payment(invoice_id, "0.00038800", status="Settled"))
    await callback(client, "btcpay", btcpay.delivery("InvoiceSettled", invoice_id, manuallyMarked=False))
    assert (await operator_order(client, order["number"]))["status"] == "funded"

    r = await refund(client, order["number"], amount="4.40")
    assert r.status_code == 201, r.text
    body = r.json()
    [request] = btcpay.refund_requests
    assert request["refundVariant"] == "Custom"
    # Named for 1.x (`paymentMethod`) and 2.x (`payoutMethodId`): BTCPay 2.x, reading only the
    # latter, would otherwise refund through the store's default method, here Lightning.
    assert (request["paymentMethod"], request["payoutMethodId"]) == ("BTC", "BTC-CHAIN")
    assert btcpay.refund_methods == ["BTC-CHAIN"]
    assert (request["customAmount"], request["customCurrency"]) == ("4.40", "EUR")
    assert body["state"] == "pending"
    assert body["claim_url"].startswith("http://btcpay.test/pull-payments/")
    async with sessionmaker() as session:
        payload = await session.scalar(select(OutboxMessage.payload).where(OutboxMessage.kind == "refund"))
    assert payload is not None
    assert payload["refund"]["claim_url"] == body["claim_url"]

    btcpay.invoices[invoice_id]["status"] = "Processing"  # BTCPay refuses a refund it cannot make
    refused = await refund(client, order["number"], amount="1.00")
    assert refused.json()["state"] == "failed"
    assert "Cannot refund this invoice" in refused.json()["detail"]
