"""Each kind of payment speaks its own language in the messages the buyer gets: a card payment is
made on the order page (never "pay to pi_..."), a bank transfer names the account, the IBAN in
groups of four, the reference and a deadline in days (no confirmations), on-chain keeps its
address and confirmations; a message sent before a remote instruction is ready shows no empty
destination."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.notifications.delivery import outbox_pass
from ordergate.settings import Settings
from tests.conftest import make_settings
from tests.factories import DELIVERY, SKU, Buyer
from tests.payments.helpers import btcpay_method, prepared, shop, stripe_method
from tests.payments.servers import Btcpay, Stripe

BANK = {
    "id": "bank",
    "kind": "manual",
    "label": "Bank transfer",
    "required_confirmations": 1,
    "payment_window_seconds": 259200,
    "settings": {
        "account_name": "Fieldnotes Supply Co.",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
    },
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url, var_dir=tmp_path / "var", secret_key="wording-test-secret-key-0123456789"
    )


async def _placed(client: httpx.AsyncClient, method: str) -> dict[str, object]:
    buyer = Buyer(client, store="shop")
    checkout = await buyer.open(SKU, 1)
    contact = {"email": f"buyer-{uuid.uuid4().hex[:8]}@example.com", "phone": "+4930901820"}
    r = await client.patch(
        f"/api/v1/stores/shop/checkouts/{checkout['id']}", json={"contact": contact, "delivery": DELIVERY}
    )
    assert r.status_code == 200, r.text
    placed = await buyer.place(checkout["id"], method=method)
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


async def _messages(maker: async_sessionmaker[AsyncSession], settings: Settings) -> tuple[str, str]:
    """The confirmation as sent: the email's plain text and the SMS."""
    await outbox_pass(maker, settings)
    [mail] = sorted((settings.var_dir / "mail").glob("*.eml"))
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    [sms] = sorted((settings.var_dir / "sms").glob("*.txt"))
    return text, sms.read_text()


async def test_bank_transfer_names_account_iban_reference_and_days_never_confirmations(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await shop(sessionmaker, [BANK])
    order = await _placed(client, "bank")
    text, sms = await _messages(sessionmaker, settings)
    assert "by bank transfer within 3 days" in text
    assert f"reference {order['number']}" in text
    assert "To:         Fieldnotes Supply Co." in text
    assert "IBAN:       DE89 3704 0044 0532 0130 00" in text
    assert "confirmation" not in text.lower().replace("order confirmation", "")
    assert f"by bank transfer within 3 days, reference {order['number']}" in sms


async def test_card_payment_is_made_on_the_order_page_never_to_a_payment_intent(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    stripe: Stripe,
) -> None:
    await shop(sessionmaker, [stripe_method(stripe)])
    order = await _placed(client, "card")
    await prepared(client, str(order["token"]))  # the PaymentIntent exists: its id is no address
    text, sms = await _messages(sessionmaker, settings)
    assert "by card on your order page" in text
    assert "by card on your order page" in sms
    assert "pi_" not in text
    assert "pi_" not in sms
    assert "confirmation" not in text.lower().replace("order confirmation", "")


async def test_a_message_sent_before_the_invoice_is_ready_shows_no_empty_destination(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    btcpay: Btcpay,
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    await _placed(client, "btcpay")
    text, _ = await _messages(sessionmaker, settings)  # sent before anyone asked BTCPay
    assert btcpay.created == []
    assert "your payment address is being prepared, open your order page to see it" in text
    assert "to:\n" not in text.lower()
    assert "to the address below" not in text


async def test_the_order_page_speaks_of_a_bank_transfer_not_of_confirmations(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await shop(sessionmaker, [BANK])
    order = await _placed(client, "bank")
    page = (await client.get(f"/s/shop/orders/{order['token']}")).text
    assert "Bank transfer within 3 days" in page
    assert "DE89 3704 0044 0532 0130 00" in page
    assert "Account holder" in page
    assert str(order["number"]) in page
    assert "Confirmations" not in page
    assert "confirmation" not in page.lower().replace("order confirmation", "")
    assert "once the store sees your transfer arrive" in page


async def test_each_way_of_paying_is_described_in_its_own_words_at_checkout(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    stripe: Stripe,
) -> None:
    wallet = {"id": "coin", "kind": "sandbox", "label": "Sandbox coin", "asset": "SBX"}
    wallet |= {"required_confirmations": 2, "settings": {"rate": "25000"}}
    await shop(sessionmaker, [stripe_method(stripe), BANK, wallet])
    checkout = await Buyer(client, store="shop").open(SKU, 1)
    page = await client.get(f"/s/shop/checkout/{checkout['id']}")
    assert page.status_code == 200, page.text
    hints = dict(re.findall(r'<span class="hint" id="pm-([a-z]+)-hint">([^<]*)</span>', page.text))
    assert hints["card"] == "Pay by card on your order page, which opens as soon as you place the order."
    assert hints["bank"].startswith("Transfer from your bank within 3 days: the account details")
    assert "confirmation" not in hints["bank"]
    assert hints["coin"].startswith("Pay from a wallet")
    assert hints["coin"].endswith("Needs 2 confirmations.")
