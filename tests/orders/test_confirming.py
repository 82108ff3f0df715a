"""Paid in full but still confirming: the tracking page, its API and the operator page say
"payment received, waiting for N more confirmations" and offer nothing to pay; the order stays
alive past its deadline while it confirms; more confirmations for the same payment fund it."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.worker import run_once
from tests.console.helpers import sign_in
from tests.factories import Buyer


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_confirming_payment_is_never_asked_for_again(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], admin: dict[str, str]
) -> None:
    buyer = Buyer(client)
    order = await buyer.order()
    page_path = f"/s/demo/orders/{order['token']}"
    before = (await client.get(page_path)).text
    assert "data-countdown" in before
    assert "QR code to pay" in before

    r = await buyer.pay(order["token"], confirmations=1)
    payment = r.json()["payment"]
    assert r.json()["status"] == "awaiting_payment"
    assert (payment["state"], payment["confirmations_missing"], payment["remaining_amount"]) == (
        "pending",
        1,
        "0.00000000",
    )
    page = await client.get(page_path)
    text = words(page.text)
    assert "Payment received, waiting for 1 more confirmation" in text
    assert "nothing more to pay" in text
    assert "Payment received, confirming" in text
    assert "Awaiting payment" not in text
    prompts = ("data-countdown", "Time left to pay", "QR code to pay", "Open in wallet app", "Copy amount")
    for prompt in prompts:
        assert prompt not in page.text, prompt

    # Long past the deadline, the order paid in time is still alive: it does not expire while confirming.
    clock.advance(timedelta(hours=3))
    assert (await run_once(sessionmaker)).orders_expired == 0
    tracked = await buyer.track(order["token"])
    assert tracked["status"] == "awaiting_payment"
    assert tracked["payment"]["confirmations_missing"] == 1
    assert "Payment received, waiting for 1 more confirmation" in words((await client.get(page_path)).text)

    await sign_in(client)
    console_html = (await client.get(f"/admin/orders/{order['number']}")).text
    assert "Payment received, waiting for 1 more confirmation" in words(console_html)
    # Said at the top, beside the status, not only in the payment's details.
    head = console_html.split('id="order-head"')[1].split("</div>")[0]
    assert "<strong data-confirming>Payment received, waiting for 1 more confirmation</strong>" in head

    # More confirmations for the same payment (no amount, no reference): funded, still one payment.
    r = await buyer.pay(order["token"], confirmations=2)
    assert r.status_code == 201
    assert r.json()["status"] == "funded"
    assert r.json()["payment"]["confirmations_missing"] == 0
    view = (await client.get(f"/api/v1/stores/demo/admin/orders/{order['number']}", headers=admin)).json()
    assert [(p["confirmations"], p["late"]) for p in view["payments"]] == [(2, False)]
    assert not view["needs_attention"]


async def test_a_payment_after_the_deadline_is_late_and_flagged(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    buyer = Buyer(client)
    order = await buyer.order()
    clock.advance(timedelta(hours=1))
    r = await buyer.pay(order["token"], confirmations=0, amount="0.001")
    assert r.status_code == 201
    assert r.json()["status"] == "expired"
    assert r.json()["payment"]["confirmations_missing"] == 0
    view = (await client.get(f"/api/v1/stores/demo/admin/orders/{order['number']}", headers=admin)).json()
    assert view["needs_attention"]
    assert [p["late"] for p in view["payments"]] == [True]
