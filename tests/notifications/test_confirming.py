"""A buyer whose payment has fully arrived but is still confirming is never asked to pay again:
no reminder, and a confirmation written after the payment says it was received."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.notifications.delivery import outbox_pass
from ordergate.settings import Settings
from tests.factories import Buyer
from tests.notifications.conftest import mail_files, outbox, sms_files
from tests.notifications.helpers import place_order


async def test_no_reminder_and_no_pay_prompt_while_the_payment_confirms(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    confirming = await place_order(client, email="confirming@example.com")
    unpaid = await place_order(client, email="unpaid@example.com")
    # The full amount arrives with 0 of 2 confirmations before any message went out.
    paid = (await Buyer(client).pay(confirming["token"], confirmations=0)).json()
    assert paid["status"] == "awaiting_payment"
    assert paid["payment"]["confirmations_missing"] == 2
    await outbox_pass(sessionmaker, settings)
    mails = {p.read_text().split("To: ")[1].split("\n")[0]: p.read_text() for p in mail_files(settings)}
    text = mails["confirming@example.com"]
    assert "Payment received, waiting for 2 more confirmations" in text
    assert "nothing more to pay" in text
    assert "Pay by" not in text
    assert "before" not in text.split("Total")[1]
    assert "payment received" in text.split("\n\n")[0].lower()  # the subject says so too
    assert confirming["payment"]["destination"] not in text
    assert unpaid["payment"]["destination"] in mails["unpaid@example.com"]

    # In the window's last minutes only the unpaid buyer is reminded.
    clock.advance(timedelta(seconds=660))
    assert (await outbox_pass(sessionmaker, settings)).reminders_queued == 1
    reminders = await outbox(sessionmaker, kind="payment_expiring")
    assert [m.recipient for m in reminders] == ["unpaid@example.com"]


async def test_order_links_say_payment_received_for_a_confirming_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    confirming = await place_order(client, email="ada@example.com")
    unpaid = await place_order(client, email="ada@example.com")
    await Buyer(client).pay(confirming["token"], confirmations=1)
    await outbox_pass(sessionmaker, settings)
    before = set(mail_files(settings))
    assert (
        await client.post("/api/v1/stores/demo/order-links", json={"email": "ada@example.com"})
    ).status_code == 202
    await outbox_pass(sessionmaker, settings)
    (path,) = set(mail_files(settings)) - before
    text = path.read_text()
    assert f"Order {confirming['number']} (payment received, confirming)" in text
    assert f"Order {unpaid['number']} (awaiting payment)" in text


async def test_the_text_message_says_payment_received_and_asks_for_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, phone="+4930901820")
    await Buyer(client).pay(order["token"], confirmations=1)
    await outbox_pass(sessionmaker, settings)
    (sms,) = sms_files(settings)
    text = sms.read_text()
    assert "Payment received, waiting for 1 more confirmation. Nothing more to pay." in text
    assert "Pay " not in text
    assert "Payment details" not in text
    assert order["payment"]["destination"] not in text
