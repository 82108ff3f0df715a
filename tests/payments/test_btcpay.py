"""BTCPay Server (Greenfield): an invoice per order, opened outside the order's transaction, and
signed webhooks mapped onto our payment states through the inbox."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.payments.btcpay import method_id_1x, method_id_2x
from ordergate.payments.models import PaymentWebhookEvent
from ordergate.stores.models import Store
from tests.factories import Buyer
from tests.payments.helpers import (
    SHOP_ADMIN,
    attention,
    btcpay_method,
    callback,
    instructions,
    operator_order,
    prepared,
    shop,
    worker_pass,
)
from tests.payments.servers import Btcpay

TOTAL_BTC = "0.00038800"  # 19.40 EUR at BTCPay's 50,000 EUR/BTC


async def _order(client: httpx.AsyncClient) -> tuple[dict[str, object], str]:
    order = await Buyer(client, store="shop").order(method="btcpay")
    view = await prepared(client, str(order["token"]))
    return view, str(view["payment"]["details"]["invoice_id"])  # type: ignore[index]


async def test_an_invoice_per_order_with_destination_amount_and_link_from_btcpay(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    store = (await client.get("/api/v1/stores/shop")).json()
    assert store["guest_checkout"]["available"] is True
    assert store["payment_methods"][0]["ready"] is True

    order = await Buyer(client, store="shop").order(method="btcpay")
    assert order["status"] == "awaiting_payment"
    assert order["payment"]["destination"] == ""
    assert order["payment"]["details"] == {"preparing": True}
    assert btcpay.created == []  # nothing asked of BTCPay while the order's transaction was open

    view = await prepared(client, order["token"])
    [request] = btcpay.created
    assert request["amount"] == "19.40"
    assert request["currency"] == "EUR"
    assert request["metadata"]["orderId"] == order["number"]
    assert request["checkout"]["expirationMinutes"] == 15
    assert btcpay.auth_seen[-1] == f"token {btcpay.api_key}"
    [invoice] = btcpay.invoices.values()
    pay = view["payment"]
    assert (pay["asset"], pay["amount"], pay["destination"]) == ("BTC", TOTAL_BTC, invoice["address"])
    assert pay["uri"] == f"bitcoin:{invoice['address']}?amount={TOTAL_BTC}"
    assert pay["details"]["checkout_link"] == invoice["checkoutLink"]
    assert pay["state"] == "pending"

    again = await prepared(client, order["token"])
    assert again["payment"]["destination"] == pay["destination"]
    assert len(btcpay.invoices) == 1


async def test_webhooks_fund_the_order_once_and_a_bad_signature_changes_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    token, number = str(view["token"]), str(view["number"])
    body, _ = btcpay.payment(invoice_id, TOTAL_BTC)

    forged = await callback(client, "btcpay", btcpay.sign(body, secret="not-the-secret"))
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    unsigned = await client.post("/api/v1/webhooks/payments/btcpay", content=body)
    assert unsigned.status_code == 401
    assert (await Buyer(client, store="shop").track(token))["payment"]["received_amount"] == "0.00000000"

    r = await callback(client, "btcpay", btcpay.sign(body))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "processed", r.text
    pay = (await Buyer(client, store="shop").track(token))["payment"]
    assert (pay["state"], pay["received_amount"], pay["confirmations"]) == ("pending", TOTAL_BTC, 0)

    events = len((await operator_order(client, number))["events"])
    for redelivery in (btcpay.sign(body), btcpay.redeliver(body)):
        r = await callback(client, "btcpay", redelivery)
        assert r.status_code == 200
        assert r.json()["status"] == "duplicate"
    assert len((await operator_order(client, number))["events"]) == events

    payment_id = json.loads(body)["payment"]["id"]
    r = await callback(client, "btcpay", btcpay.payment_settled(invoice_id, payment_id))
    assert r.json()["status"] == "processed"
    r = await callback(client, "btcpay", btcpay.delivery("InvoiceSettled", invoice_id, manuallyMarked=False))
    assert r.json()["status"] == "processed"
    final = await operator_order(client, number)
    assert final["status"] == "funded"
    assert final["payment"]["state"] == "confirmed"
    assert final["payment"]["received_amount"] == TOTAL_BTC
    assert final["needs_attention"] is False


async def test_partial_payment_then_expiry_is_flagged_and_the_order_expires(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    await callback(client, "btcpay", btcpay.payment(invoice_id, "0.0002", status="Settled"))
    pay = (await Buyer(client, store="shop").track(str(view["token"])))["payment"]
    assert (pay["state"], pay["remaining_amount"]) == ("partial", "0.00018800")

    r = await callback(client, "btcpay", btcpay.delivery("InvoiceExpired", invoice_id, partiallyPaid=True))
    assert r.json()["status"] == "processed"
    await worker_pass(sessionmaker)
    final = await operator_order(client, str(view["number"]))
    assert final["status"] == "expired"
    assert final["payment"]["received_amount"] == "0.00020000"
    assert "partial payment" in (final["attention_reason"] or "")
    assert any(e["type"] == "refund_due" for e in final["events"])


async def test_payment_after_expiration_is_late_never_funding(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    await callback(
        client, "btcpay", btcpay.payment(invoice_id, TOTAL_BTC, status="Settled", after_expiration=True)
    )
    final = await operator_order(client, str(view["number"]))
    assert final["status"] == "awaiting_payment"
    assert final["needs_attention"] is True
    assert (await attention(client))[str(view["number"])] == (
        f"late payment of {TOTAL_BTC} BTC after the payment window: not funded at the old rate"
    )


async def test_settled_by_hand_funds_settled_unseen_is_flagged(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    marked, marked_invoice = await _order(client)
    r = await callback(
        client, "btcpay", btcpay.delivery("InvoiceSettled", marked_invoice, manuallyMarked=True)
    )
    assert r.json()["status"] == "processed"
    assert (await operator_order(client, str(marked["number"])))["status"] == "funded"

    unseen, unseen_invoice = await _order(client)
    await callback(client, "btcpay", btcpay.delivery("InvoiceSettled", unseen_invoice, manuallyMarked=False))
    order = await operator_order(client, str(unseen["number"]))
    assert order["status"] == "awaiting_payment"
    assert "reports the invoice settled but only 0" in order["attention_reason"]


async def test_invalid_payment_is_not_counted(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    await callback(client, "btcpay", btcpay.payment(invoice_id, TOTAL_BTC, status="Invalid"))
    await callback(client, "btcpay", btcpay.delivery("InvoiceInvalid", invoice_id))
    order = await operator_order(client, str(view["number"]))
    assert order["payment"]["received_amount"] == "0.00000000"
    assert order["needs_attention"] is True
    assert "invalid" in order["attention_reason"]
    await worker_pass(sessionmaker)
    assert (await operator_order(client, str(view["number"])))["status"] == "expired"


async def test_event_for_an_unknown_invoice_is_kept_and_reported(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    payment = {"id": "ab" * 32 + "-1", "value": "0.01", "status": "Settled", "receivedDate": 0, "fee": "0"}
    signed = btcpay.delivery(
        "InvoiceReceivedPayment", "NotOurInvoice1", payment=payment, afterExpiration=False
    )
    r = await callback(client, "btcpay", signed)
    assert r.status_code == 200
    assert r.json()["status"] == "unmatched"
    r = await client.get("/api/v1/stores/shop/admin/payment-events?status=unmatched", headers=SHOP_ADMIN)
    [event] = r.json()["items"]
    assert event["provider_ref"] == "NotOurInvoice1"
    assert event["event_type"] == "InvoiceReceivedPayment"
    assert "no order" in event["detail"]
    bad = await client.get("/api/v1/stores/shop/admin/payment-events?status=weird", headers=SHOP_ADMIN)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"


async def test_unreadable_but_signed_callback_is_kept(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    r = await callback(client, "btcpay", btcpay.sign(b'{"not": "an event"'))
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.get("/api/v1/stores/shop/admin/payment-events?status=invalid", headers=SHOP_ADMIN)
    assert len(r.json()["items"]) == 1
    unknown = await client.post("/api/v1/webhooks/payments/paypal", content=b"{}")
    assert unknown.status_code == 404


async def test_btcpay_down_at_order_time_loses_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    btcpay.down = True
    order = await Buyer(client, store="shop").order(method="btcpay")
    r = await client.post(f"/api/v1/stores/shop/orders/{order['token']}/payment-instruction")
    assert r.status_code == 503
    assert r.json()["type"] == "payment-provider-unavailable"
    assert (await Buyer(client, store="shop").track(order["token"]))["status"] == "awaiting_payment"

    btcpay.down = False
    await worker_pass(sessionmaker)  # the worker opens what is still pending
    view = await Buyer(client, store="shop").track(order["token"])
    assert view["payment"]["destination"]
    assert view["payment"]["asset"] == "BTC"
    [row] = await instructions(sessionmaker, order["number"])
    assert row.provider_ref in btcpay.invoices


async def test_wrong_api_key_makes_the_method_not_ready(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay, api_key="0" * 40)])
    store = (await client.get("/api/v1/stores/shop")).json()
    assert store["payment_methods"][0]["reason"] == "btcpay_unauthorized"
    assert store["guest_checkout"]["reason"] == "no_ready_payment_method"
    assert (
        "0" * 40
        not in (await client.get("/api/v1/stores/shop/admin/payment-methods", headers=SHOP_ADMIN)).text
    )


async def test_secrets_stay_out_of_responses_and_logs(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    btcpay: Btcpay,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    await callback(client, "btcpay", btcpay.sign(b"{}", secret="forged"))
    await callback(client, "btcpay", btcpay.payment(invoice_id, TOTAL_BTC))
    btcpay.down = True
    await Buyer(client, store="shop").order(method="btcpay")
    await worker_pass(sessionmaker)
    texts = [
        (await client.get("/api/v1/stores/shop")).text,
        (await client.get("/api/v1/stores/shop/admin/payment-methods", headers=SHOP_ADMIN)).text,
        (await client.get("/api/v1/stores/shop/admin/payment-events", headers=SHOP_ADMIN)).text,
        json.dumps(await operator_order(client, str(view["number"]))),
        capsys.readouterr().out,
    ]
    for text in texts:
        assert btcpay.api_key not in text
        assert btcpay.webhook_secret not in text


async def test_a_stored_event_left_unprocessed_by_a_crash_is_acted_on_by_the_worker(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    body, _ = btcpay.delivery("InvoiceSettled", invoice_id, manuallyMarked=True)
    async with sessionmaker() as session, session.begin():
        # What the inbox holds when the process died between storing an event and acting on it.
        store_id = await session.scalar(select(Store.id).where(Store.slug == "shop"))
        session.add(
            PaymentWebhookEvent(
                provider="btcpay",
                event_id=json.loads(body)["deliveryId"],
                event_type="InvoiceSettled",
                store_id=store_id,
                method="btcpay",
                provider_ref=invoice_id,
                status="received",
                payload=body.decode(),
                attempts=0,
                received_at=clock.now(),
            )
        )
    await worker_pass(sessionmaker, after=timedelta(seconds=1))
    assert (await operator_order(client, str(view["number"])))["status"] == "funded"
    r = await callback(client, "btcpay", btcpay.sign(body))
    assert r.json()["status"] == "duplicate"


async def _paid_in_full(
    client: httpx.AsyncClient, btcpay: Btcpay, number: str, invoice_id: str
) -> dict[str, object]:
    body, _ = btcpay.payment(invoice_id, TOTAL_BTC)
    assert (await callback(client, "btcpay", btcpay.sign(body))).json()["status"] == "processed"
    payment_id = json.loads(body)["payment"]["id"]
    await callback(client, "btcpay", btcpay.payment_settled(invoice_id, payment_id))
    await callback(client, "btcpay", btcpay.delivery("InvoiceSettled", invoice_id, manuallyMarked=False))
    return await operator_order(client, number)


async def test_lazy_payment_methods_are_activated_before_the_address_is_read(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    """A store with lazy payment methods (Greenfield 2.x) gives no address until the method is
    activated: we activate the on-chain one, never show an empty destination, and the 2.x webhook
    (`paymentMethodId: BTC-CHAIN`) funds the order."""
    btcpay.lazy = True
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    assert btcpay.activated == [(invoice_id, "BTC-CHAIN")]
    invoice = btcpay.invoices[invoice_id]
    assert view["payment"]["destination"] == invoice["address"]  # type: ignore[index]
    assert view["payment"]["amount"] == TOTAL_BTC  # type: ignore[index]
    final = await _paid_in_full(client, btcpay, str(view["number"]), invoice_id)
    assert final["status"] == "funded"
    assert final["payment"]["received_amount"] == TOTAL_BTC


async def test_btcpay_1x_shapes_are_still_read(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    btcpay.version = "1.x"  # paymentMethod "BTC" and cryptoCode, as BTCPay 1.x answers
    await shop(sessionmaker, [btcpay_method(btcpay)])
    view, invoice_id = await _order(client)
    assert btcpay.activated == []  # 1.x activates every method up front
    assert view["payment"]["destination"] == btcpay.invoices[invoice_id]["address"]  # type: ignore[index]
    final = await _paid_in_full(client, btcpay, str(view["number"]), invoice_id)
    assert final["status"] == "funded"


# btcpayserver/btcpayserver#5964 ("Breaking change 2.0", Payment Methods): the 1.x ids and the 2.x
# id each became. We send the 1.x form where 2.x still converts it, and the 2.x form where 2.x
# renamed the field (a refund's payoutMethodId).
@pytest.mark.parametrize(
    ("given", "one_x", "two_x"),
    [
        ("BTC", "BTC", "BTC-CHAIN"),
        ("BTC-OnChain", "BTC", "BTC-CHAIN"),
        ("BTC_BitcoinLike", "BTC", "BTC-CHAIN"),
        ("BTC-BTCLike", "BTC", "BTC-CHAIN"),
        ("BTC-CHAIN", "BTC", "BTC-CHAIN"),
        ("BTC-LightningNetwork", "BTC-LightningNetwork", "BTC-LN"),
        ("BTC_LightningLike", "BTC-LightningNetwork", "BTC-LN"),
        ("BTC_Off-Chain", "BTC-LightningNetwork", "BTC-LN"),
        ("BTC-LN", "BTC-LightningNetwork", "BTC-LN"),
        ("BTC-LNURLPAY", "BTC-LNURLPAY", "BTC-LNURL"),
    ],
)
def test_payment_method_ids_in_both_versions(given: str, one_x: str, two_x: str) -> None:
    assert (method_id_1x(given), method_id_2x(given)) == (one_x, two_x)
