"""The outbox through the order's life: written with the change, delivered by the worker, never twice."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.notifications.delivery import outbox_pass
from ordergate.notifications.models import OutboxMessage
from ordergate.settings import Settings
from ordergate.worker import run_once
from tests.factories import Buyer
from tests.notifications.conftest import mail_files, outbox, seals, sms_files
from tests.notifications.helpers import place_order


async def test_confirmation_is_written_with_the_order(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await place_order(client, email="ada@example.com")
    rows = await outbox(sessionmaker)
    assert [(m.kind, m.channel, m.recipient, m.state) for m in rows] == [
        ("order_confirmation", "email", "ada@example.com", "pending")
    ]
    # The token is nowhere in the outbox, and the seal does not contain it in the clear.
    token = order["token"]
    for row in rows:
        assert token not in repr((row.payload, row.sealed, row.last_error, row.dedupe_key))
    (seal,) = await seals(sessionmaker)
    assert seal is not None
    assert token not in seal
    assert seal.startswith("v1.")


async def test_no_message_when_the_order_is_not_created(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    buyer = Buyer(client)
    checkout = await buyer.ready()
    r = await client.post(
        f"/api/v1/stores/demo/checkouts/{checkout['id']}/orders",
        json={"payment_method": "sandbox", "accepted_policies": []},
    )
    assert r.status_code == 422
    assert await outbox(sessionmaker) == []
    # Completing the same checkout again sends no second confirmation (same key: the same order;
    # another key: the same order named, without its link).
    placed = await buyer.place(checkout["id"], key="once")
    again = await buyer.place(checkout["id"], key="once")
    other = await buyer.place(checkout["id"])
    assert (placed.status_code, again.status_code, other.status_code) == (201, 200, 200)
    assert other.json()["number"] == placed.json()["number"]
    assert len(await outbox(sessionmaker)) == 1


async def test_confirmation_email_as_a_file_without_smtp(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, email="ada@example.com", quantity=2)
    result = await outbox_pass(sessionmaker, settings)
    assert (result.sent, result.retried, result.dead) == (1, 0, 0)

    (path,) = mail_files(settings)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == f"Your order {order['number']} at Fieldnotes Supply Co.: how to pay"
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Fieldnotes Supply Co.", "no-reply@localhost")
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    for part in (text, html):
        assert order["number"] in part
        assert order["tracking_url"] in part
        assert "A5 dotted notebook" in part
        assert "€33.90" in part  # 2 x 14.50 + 4.90 shipping
        assert order["payment"]["destination"] in part
        assert "0.00135600 SBX" in part
        assert "key to your order" in part

    # Delivered: the body's facts are gone from the outbox, the outcome stays; nothing is sent again.
    (row,) = await outbox(sessionmaker)
    assert (row.state, row.payload, row.sealed, row.attempts) == ("sent", None, None, 1)
    assert row.sent_at is not None
    assert row.provider_ref == f"file:{path.name}"
    again = await outbox_pass(sessionmaker, settings)
    assert (again.sent, again.skipped) == (0, 0)
    assert len(mail_files(settings)) == 1


async def test_bank_transfer_confirmation_has_the_transfer_details(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, email="ada@example.com", method="manual")
    await outbox_pass(sessionmaker, settings)
    (path,) = mail_files(settings)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "COBADEFFXXX" in text
    assert f"Reference:  {order['number']}" in text
    assert "€19.40" in text


async def test_every_step_of_the_order_sends_its_message(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    admin: dict[str, str],
) -> None:
    order = await place_order(client, email="ada@example.com", phone="+4930901820")
    buyer = Buyer(client)
    assert (await buyer.pay(order["token"], confirmations=2)).json()["status"] == "funded"
    base = f"/api/v1/stores/demo/admin/orders/{order['number']}"
    r = await client.post(
        f"{base}/shipments", json={"carrier": "DHL", "tracking_number": "JD0146000012345"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (await client.post(f"{base}/complete", headers=admin)).status_code == 200

    rows = await outbox(sessionmaker)
    kinds = [(m.kind, m.channel) for m in rows]
    assert kinds == [
        ("order_confirmation", "email"),
        ("order_confirmation", "sms"),
        ("payment_received", "email"),
        ("payment_received", "sms"),
        ("shipped", "email"),
        ("shipped", "sms"),
        ("completed", "email"),
        ("completed", "sms"),
    ]
    result = await run_once(sessionmaker, settings)
    assert (result.messages_sent, result.messages_failed) == (8, 0)

    mails = {p.name.split("-", 3)[3]: p.read_text() for p in mail_files(settings)}
    texts = {p.name.split("-", 3)[3]: p.read_text() for p in sms_files(settings)}
    assert set(mails) == {
        f"{k}.eml" for k in ("order_confirmation", "payment_received", "shipped", "completed")
    }
    assert "Carrier:          DHL" in mails["shipped.eml"]
    assert "JD0146000012345" in mails["shipped.eml"]
    assert "Payment received for order" in mails["payment_received.eml"]
    assert f"Order {order['number']} is complete" in mails["completed.eml"]
    shipped_sms = texts["shipped.txt"]
    assert shipped_sms.startswith("To: +4930901820\n")
    assert "DHL tracking JD0146000012345" in shipped_sms
    assert order["tracking_url"] in shipped_sms
    assert "key to your order" in texts["order_confirmation.txt"]


async def test_expired_payment_sends_the_refresh_link(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, email="ada@example.com")
    await outbox_pass(sessionmaker, settings)
    clock.advance(timedelta(seconds=settings.payment_window_seconds + 1))
    result = await run_once(sessionmaker, settings)
    assert result.orders_expired == 1
    assert result.messages_sent == 1
    expired = [p for p in mail_files(settings) if p.name.endswith("payment_expired.eml")]
    (path,) = expired
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert f"{order['tracking_url']}#refresh" in text
    assert "new payment instruction" in text

    # Refreshed and expired again: a second expiry message, not swallowed by the first one's dedupe key.
    assert (await client.post(f"/api/v1/stores/demo/orders/{order['token']}/refresh")).status_code == 200
    clock.advance(timedelta(seconds=settings.payment_window_seconds + 1))
    result = await run_once(sessionmaker, settings)
    assert result.orders_expired == 1
    assert result.messages_sent == 1
    assert len(await outbox(sessionmaker, kind="payment_expired")) == 2


async def test_expired_message_is_skipped_when_the_buyer_already_refreshed(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, email="ada@example.com")
    clock.advance(timedelta(seconds=settings.payment_window_seconds + 1))
    await run_once(sessionmaker)  # expiry only: the worker that delivers is not running yet
    assert (await client.post(f"/api/v1/stores/demo/orders/{order['token']}/refresh")).status_code == 200
    result = await outbox_pass(sessionmaker, settings)
    assert (result.sent, result.skipped) == (1, 1)  # the confirmation goes; "window closed" does not
    (skipped,) = await outbox(sessionmaker, state="skipped")
    assert skipped.kind == "payment_expired"
    assert "new payment instruction" in (skipped.last_error or "")


async def test_payment_reminder_once_and_not_after_payment(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    paid = await place_order(client, email="paid@example.com")
    unpaid = await place_order(client, email="unpaid@example.com")
    await outbox_pass(sessionmaker, settings)
    # Two thirds into the 15-minute window nothing yet; in its last five minutes, one reminder each.
    clock.advance(timedelta(seconds=540))
    assert (await outbox_pass(sessionmaker, settings)).reminders_queued == 0
    clock.advance(timedelta(seconds=120))
    assert (await Buyer(client).pay(paid["token"])).json()["status"] == "funded"
    # The paid order's reminder would have been queued before the payment landed: it is skipped.
    result = await outbox_pass(sessionmaker, settings)
    assert result.reminders_queued == 1
    reminders = await outbox(sessionmaker, kind="payment_expiring")
    assert [(m.recipient, m.state) for m in reminders] == [("unpaid@example.com", "sent")]
    (path,) = [p for p in mail_files(settings) if p.name.endswith("payment_expiring.eml")]
    assert unpaid["payment"]["destination"] in path.read_text()
    assert (await outbox_pass(sessionmaker, settings)).reminders_queued == 0


async def test_sms_only_buyer_gets_text_messages(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, phone="+4930901820")
    await outbox_pass(sessionmaker, settings)
    assert mail_files(settings) == []
    (path,) = sms_files(settings)
    text = path.read_text()
    assert text.startswith("To: +4930901820\nFrom: Fieldnotes Supply Co.\n\n")
    assert order["number"] in text
    assert order["tracking_url"] in text


async def test_cancelled_paid_order_says_refund_and_escapes_the_reason(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    admin: dict[str, str],
) -> None:
    order = await place_order(client, email="ada@example.com")
    await Buyer(client).pay(order["token"])
    reason = 'Out of paper <script>alert("x")</script> & sorry'
    r = await client.post(
        f"/api/v1/stores/demo/admin/orders/{order['number']}/cancel", json={"reason": reason}, headers=admin
    )
    assert r.status_code == 200, r.text
    await outbox_pass(sessionmaker, settings)
    (path,) = [p for p in mail_files(settings) if p.name.endswith("cancelled.eml")]
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; sorry" in html
    assert reason in text
    assert "will refund you" in text


async def test_store_without_sms_skips_sms(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    from ordergate.stores.models import Store

    async with sessionmaker() as session, session.begin():
        store = await session.scalar(select(Store).where(Store.slug == "demo"))
        assert store is not None
        if not hasattr(store, "notification_channels"):
            return  # the store setting arrives with the store-settings work
        store.notification_channels = ["email"]
    await place_order(client, email="ada@example.com", phone="+4930901820")
    result = await outbox_pass(sessionmaker, settings)
    assert (result.sent, result.skipped) == (1, 1)
    assert sms_files(settings) == []


async def test_outbox_rows_never_hold_tokens(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    order = await place_order(client, email="ada@example.com", phone="+4930901820")
    await Buyer(client).pay(order["token"])
    await outbox_pass(sessionmaker, settings)
    async with sessionmaker() as session:
        raw = (await session.execute(select(OutboxMessage.__table__))).all()
    assert raw
    assert order["token"] not in repr(raw)
