"""The buyer's tracking page for orders paid through BTCPay or Stripe: it asks the provider for the
payment details when it shows a pending instruction, says so while they are being prepared, and
offers a retry when the provider is down (Stripe's card form: tests/payments/test_card_form.py)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Buyer
from tests.payments.helpers import btcpay_method, shop
from tests.payments.servers import Btcpay


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def csrf(client: httpx.AsyncClient) -> str:
    return str(client.cookies.get("og_csrf", path="/s/"))


async def test_btcpay_details_are_fetched_when_the_page_shows_and_retried_when_down(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    order = await Buyer(client, store="shop").order(method="btcpay")
    assert order["payment"]["details"] == {"preparing": True}
    assert order["payment"]["destination"] == ""
    page_path = f"/s/shop/orders/{order['token']}"

    btcpay.down = True
    page = await client.get(page_path)
    assert page.status_code == 200
    text = words(page.text)
    assert "Preparing your payment details" in text
    assert "did not answer" in text
    assert "Try again" in text
    assert "Pay to address" not in text
    assert '|preparing"' in page.text  # scripts reload the page once the details are there
    assert len(btcpay.created) == 0

    r = await client.post(f"{page_path}/payment-instruction", data={"csrf": csrf(client)})
    assert r.status_code == 503
    assert "did not answer" in r.text
    r = await client.post(f"{page_path}/payment-instruction", data={"csrf": "forged"})
    assert r.status_code == 403
    assert len(btcpay.created) == 0

    btcpay.down = False
    r = await client.post(f"{page_path}/payment-instruction", data={"csrf": csrf(client)})
    assert r.status_code == 303
    assert r.headers["location"] == f"{page_path}?payment=ready"
    page = await client.get(r.headers["location"])
    text = words(page.text)
    [invoice] = btcpay.invoices.values()
    assert "Your payment details are ready" in text
    assert "Preparing" not in text
    assert invoice["address"] in page.text
    assert "Pay to address" in text
    assert f'href="{invoice["checkoutLink"]}"' in page.text  # BTCPay's own page: a link, not a script
    assert len(btcpay.created) == 1
    await client.get(page_path)
    assert len(btcpay.created) == 1  # asked once: the instruction is no longer pending


async def test_a_healthy_provider_gives_the_details_on_the_first_view(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], btcpay: Btcpay
) -> None:
    await shop(sessionmaker, [btcpay_method(btcpay)])
    order = await Buyer(client, store="shop").order(method="btcpay")
    page = await client.get(f"/s/shop/orders/{order['token']}")
    [invoice] = btcpay.invoices.values()
    assert page.status_code == 200
    assert invoice["address"] in page.text
    assert "Preparing your payment details" not in page.text
    assert '|preparing"' not in page.text  # the live-update signature says the details are there
