"""Refunds that settle after they were asked for: Stripe's refund.* events (a Refund object, as the
official `stripe` SDK builds and signs events) and BTCPay pull payments paid out to the buyer
(Greenfield's public pull-payment and payouts routes, in their 1.x and 2.x shapes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Buyer
from tests.payments.helpers import (
    attention,
    btcpay_method,
    callback,
    operator_order,
    prepared,
    shop,
    stripe_method,
    worker_pass,
)
from tests.payments.servers import Btcpay, Stripe
from tests.payments.test_refund_providers import paid_by_card, refund


async def paid_by_btcpay(client: httpx.AsyncClient, btcpay: Btcpay) -> dict[str, Any]:
    order = await Buyer(client, store="shop").order(method="btcpay")
    invoice_id = str((await prepared(client, order["token"]))["payment"]["details"]["invoice_id"])
    await callback(client, "btcpay", btcpay.payment(invoice_id, "0.00038800", status="Settled"))
    await callback(client, "btcpay", btcpay.delivery("InvoiceSettled", invoice_id, manuallyMarked=False))
    return order


def events(order: dict[str, Any]) -> list[str]:
    return [str(e["type"]) for e in order["events"]]


async def test_a_pending_stripe_refund_succeeds_when_stripe_says_so(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    number, _ = await paid_by_card(client, stripe)
    stripe.refund_status = "pending"  # e.g. a card whose issuer takes days
    r = await refund(client, number, amount="5.00")
    assert (r.status_code, r.json()["state"]) == (201, "pending")
    refund_id = r.json()["provider_reference"]

    news = stripe.refund_moved(refund_id, "succeeded")
    answered = await callback(client, "stripe", news)
    assert answered.json()["status"] == "processed", answered.text
    order = await operator_order(client, number)
    assert [x["state"] for x in order["refunds"]] == ["succeeded"]
    assert "refund_succeeded" in events(order)
    assert (await callback(client, "stripe", news)).status_code == 200  # redelivered: nothing twice
    assert events(await operator_order(client, number)).count("refund_succeeded") == 1


async def test_a_refund_that_fails_later_frees_its_amount_and_tells_the_operator(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    number, _ = await paid_by_card(client, stripe)
    stripe.refund_status = "pending"
    first = (await refund(client, number, amount="5.00")).json()
    news = stripe.refund_moved(
        first["provider_reference"],
        "failed",
        failure_reason="expired_or_canceled_card",
        type_="refund.failed",
    )
    assert (await callback(client, "stripe", news)).json()["status"] == "processed"

    order = await operator_order(client, number)
    assert order["refunds"][0]["state"] == "failed"
    assert "expired_or_canceled_card" in order["refunds"][0]["detail"]
    assert "refund_failed" in events(order)
    reason = (await attention(client))[number]
    assert reason is not None
    assert first["id"] in reason
    assert "refund it again" in reason
    # The failed refund holds nothing: the whole amount can be refunded again.
    stripe.refund_status = "succeeded"
    again = await refund(client, number)
    assert again.json()["state"] == "succeeded", again.text
    assert (await operator_order(client, number))["status"] == "refunded"


async def test_an_event_for_a_refund_that_is_not_ours_is_kept_unmatched(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], stripe: Stripe
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    stranger = {"id": "re_3Nx0000000000000", "object": "refund", "amount": 100, "currency": "eur"}
    stripe.refunds[stranger["id"]] = {**stranger, "status": "pending", "metadata": {}}
    r = await callback(client, "stripe", stripe.refund_moved(stranger["id"], "succeeded"))
    assert r.json()["status"] == "unmatched"


@pytest.mark.parametrize("version", ["2.x", "1.x"])
async def test_a_btcpay_refund_succeeds_once_its_payouts_are_completed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay, version: str
) -> None:
    btcpay.version = version
    await shop(sessionmaker, [btcpay_method(btcpay)])
    order = await paid_by_btcpay(client, btcpay)
    pending = (await refund(client, order["number"], amount="4.40")).json()
    assert pending["state"] == "pending"
    pull_id = pending["provider_reference"]

    btcpay.pay_out(pull_id, "2.00")  # the buyer claimed part of it; BTCPay paid that part
    btcpay.pay_out(pull_id, "2.40", state="AwaitingPayment")
    await worker_pass(sessionmaker, after=timedelta(minutes=6))
    assert (await operator_order(client, order["number"]))["refunds"][0]["state"] == "pending"

    btcpay.payouts[pull_id][-1]["state"] = "Completed"
    await worker_pass(sessionmaker, after=timedelta(minutes=2))  # asked at most every 5 minutes
    assert (await operator_order(client, order["number"]))["refunds"][0]["state"] == "pending"
    await worker_pass(sessionmaker, after=timedelta(minutes=4))
    settled = await operator_order(client, order["number"])
    assert settled["refunds"][0]["state"] == "succeeded"
    assert "refund_succeeded" in events(settled)


async def test_a_btcpay_pull_payment_archived_unpaid_fails_the_refund(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    order = await paid_by_btcpay(client, btcpay)
    pending = (await refund(client, order["number"], amount="4.40")).json()
    btcpay.pull_payments[pending["provider_reference"]]["archived"] = True  # the store archived it

    await worker_pass(sessionmaker, after=timedelta(minutes=6))
    failed = await operator_order(client, order["number"])
    assert failed["refunds"][0]["state"] == "failed"
    assert "archived" in failed["refunds"][0]["detail"]
    assert pending["id"] in str((await attention(client))[order["number"]])
