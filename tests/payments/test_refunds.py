"""Refunds: never more than paid and not yet refunded (also when two arrive at once), by amount or
by lines, with restock in the stock ledger, the buyer told, `refunded` once all of it is back, and
recorded with evidence for payments made by hand."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.notifications.models import OutboxMessage
from tests.console.helpers import post, sign_in, text_of
from tests.factories import SKU, Buyer

ADMIN = "/api/v1/stores/demo/admin"


async def paid_order(client: httpx.AsyncClient, quantity: int = 2) -> dict[str, Any]:
    buyer = Buyer(client)
    order = await buyer.order(quantity=quantity)
    assert (await buyer.pay(order["token"])).status_code == 201
    return order


async def refund(
    client: httpx.AsyncClient, admin: dict[str, str], number: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{ADMIN}/orders/{number}/refunds", json={"reason": "test", **body}, headers=admin
    )


async def view(client: httpx.AsyncClient, admin: dict[str, str], number: str) -> dict[str, Any]:
    r = await client.get(f"{ADMIN}/orders/{number}", headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def on_hand(client: httpx.AsyncClient, admin: dict[str, str], sku: str = SKU) -> int:
    return int((await client.get(f"{ADMIN}/products/{sku}", headers=admin)).json()["on_hand"])


async def test_partial_then_the_rest_never_more(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    unpaid = await Buyer(client).order()
    r = await refund(client, admin, unpaid["number"], restock=True)
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "amount"

    order = await paid_order(client)  # 2 x 14.50 + 4.90 = 33.90 EUR
    number = order["number"]
    r = await refund(client, admin, number, amount="1.00")
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["amount"], first["currency"], first["state"], first["method"]) == (
        "1.00",
        "EUR",
        "succeeded",
        "sandbox",
    )
    assert first["id"].startswith("rf_")
    assert first["provider_reference"] == f"sandbox-{first['id']}"
    assert first["created_at"]

    too_much = await refund(client, admin, number, amount="32.91")
    assert too_much.status_code == 409
    assert "32.90 EUR" in too_much.json()["detail"]
    assert (await refund(client, admin, number, amount="1.001")).status_code == 422
    assert (await refund(client, admin, number, amount="-1")).status_code == 422
    assert (await refund(client, admin, number, lines=[{"sku": "NOPE", "quantity": 1}])).status_code == 422
    over = await refund(client, admin, number, lines=[{"sku": SKU, "quantity": 3}])
    assert over.status_code == 409
    assert over.json()["errors"][0]["field"] == "lines[0].quantity"
    assert (await client.post(f"{ADMIN}/orders/{number}/refunds", json={})).status_code == 401

    before = await on_hand(client, admin)
    by_line = await refund(client, admin, number, lines=[{"sku": SKU, "quantity": 1}], restock=True)
    assert by_line.status_code == 201
    assert by_line.json()["amount"] == "14.50"
    assert by_line.json()["lines"] == [{"sku": SKU, "quantity": 1, "restocked": True}]
    assert await on_hand(client, admin) == before + 1
    moves = (await client.get(f"{ADMIN}/products/{SKU}/stock", headers=admin)).json()["movements"]
    assert (moves[0]["kind"], moves[0]["delta"], moves[0]["order"]) == ("refund_restock", 1, number)

    assert (await view(client, admin, number))["status"] == "funded"
    rest = await refund(client, admin, number, restock=True)  # everything not yet refunded
    assert rest.status_code == 201
    assert rest.json()["amount"] == "18.40"
    assert rest.json()["lines"] == [{"sku": SKU, "quantity": 1, "restocked": True}]
    assert await on_hand(client, admin) == before + 2
    final = await view(client, admin, number)
    assert final["status"] == "refunded"
    assert final["refunded_amount"] == "33.90"
    assert [r["amount"] for r in final["refunds"]] == ["1.00", "14.50", "18.40"]
    assert any(m["status"] == "refunded" for m in final["milestones"]) or final["status"] == "refunded"
    again = await refund(client, admin, number, amount="0.01")
    assert again.status_code == 409


async def test_the_buyer_is_told(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    order = await paid_order(client, quantity=1)
    assert (await refund(client, admin, order["number"], amount="2.50")).status_code == 201
    async with sessionmaker() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
        payload = await session.scalar(select(OutboxMessage.payload).where(OutboxMessage.kind == "refund"))
    assert kinds.count("refund") == 1
    assert payload is not None
    assert payload["refund"]["amount"] == "2.50"


async def test_two_refunds_at_once_cannot_exceed_what_was_paid(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    order = await paid_order(client, quantity=1)  # 19.40
    answers = await asyncio.gather(
        *(refund(client, admin, order["number"], amount="12.00") for _ in range(4))
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409], [r.text for r in answers]
    assert (await view(client, admin, order["number"]))["refunded_amount"] == "12.00"


async def test_bank_transfers_are_recorded_with_their_reference(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    buyer = Buyer(client)
    order = await buyer.order(method="manual")
    paid = await client.post(
        f"{ADMIN}/orders/{order['number']}/payments",
        json={"amount": order["payment"]["amount"], "reference": "BANK-1"},
        headers=admin,
    )
    assert paid.json()["status"] == "funded"
    missing = await refund(client, admin, order["number"], amount="5.00")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "reference"
    r = await refund(client, admin, order["number"], amount="5.00", reference="SEPA-RET-77")
    assert r.status_code == 201, r.text
    assert (r.json()["state"], r.json()["reference"], r.json()["method"]) == (
        "recorded",
        "SEPA-RET-77",
        "manual",
    )


async def test_a_cancelled_paid_order_is_refunded_without_restocking_twice(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    order = await paid_order(client, quantity=1)
    before = await on_hand(client, admin)
    await client.post(f"{ADMIN}/orders/{order['number']}/cancel", headers=admin)
    assert await on_hand(client, admin) == before + 1  # the cancellation put it back
    r = await refund(client, admin, order["number"], restock=True)
    assert r.status_code == 201
    assert r.json()["restock"] is False
    assert r.json()["amount"] == "19.40"
    assert await on_hand(client, admin) == before + 1
    assert (await view(client, admin, order["number"]))["status"] == "cancelled"


async def test_refund_from_the_console(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    order = await paid_order(client)
    await sign_in(client)
    path = f"/admin/orders/{order['number']}"
    page = text_of((await client.get(path)).text)
    assert "At most €33.90 can still be refunded" in page or "33.90" in page
    r = await post(client, f"{path}/refunds", {"amount": "40", "reason": "too much"})
    assert r.status_code == 409
    assert 'id="refund-amount-error"' in r.text
    assert 'value="40"' in r.text
    assert "too much" in r.text  # what was typed is kept
    r = await post(client, f"{path}/refunds", {f"line.{SKU}": "x"})
    assert r.status_code == 422
    assert 'id="refund-lines-error"' in r.text
    r = await post(client, f"{path}/refunds", {f"line.{SKU}": "1", "restock": "1", "reason": "damaged"})
    assert r.status_code == 303, r.text
    shown = text_of((await client.get(r.headers["location"])).text)
    assert "Refund made" in shown
    assert "back on sale" in shown
    assert "€14.50" in shown
    assert Decimal((await view(client, admin, order["number"]))["refunded_amount"]) == Decimal("14.50")
