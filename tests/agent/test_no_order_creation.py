"""No tool argument reaches order creation, payment or an order move: every attempt is refused, and the
ledger of orders, events, payments, shipments and stock is the same before and after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.checkout.schemas import MAX_QUANTITY
from ordergate.settings import Settings
from tests.agent.support import assistant, ledger, ok, refused
from tests.factories import SKU, Buyer, make_store

ITEM = {"sku": SKU, "quantity": 1}
ATTEMPTS: list[tuple[str, dict[str, Any], str]] = [
    # Order-creation fields smuggled next to a cart.
    ("prepare_checkout", {"store": "demo", "items": [ITEM], "payment_method": "sandbox"}, "payment_method"),
    (
        "prepare_checkout",
        {"store": "demo", "items": [ITEM], "accepted_policies": ["terms@2026-01"]},
        "accepted_policies",
    ),
    ("prepare_checkout", {"store": "demo", "items": [ITEM], "place_order": True}, "place_order"),
    ("prepare_checkout", {"store": "demo", "items": [ITEM], "confirm": True, "status": "funded"}, "confirm"),
    ("prepare_checkout", {"store": "demo", "items": [ITEM], "Idempotency-Key": "k" * 20}, "Idempotency-Key"),
    ("prepare_checkout", {"store": "demo", "items": [ITEM], "prepared_by": None}, "prepared_by"),
    (
        "prepare_checkout",
        {"store": "demo", "items": [ITEM], "contact": {"email": "a@example.org"}, "delivery": {"city": "X"}},
        "contact",
    ),
    (
        "prepare_checkout",
        {"store": "demo", "items": [{**ITEM, "payment_method": "sandbox"}]},
        "payment_method",
    ),
    ("prepare_checkout", {"store": "demo", "items": [{**ITEM, "unit_price": "0.01"}]}, "unit_price"),
    # SKUs that look like paths or queries.
    ("prepare_checkout", {"store": "demo", "items": [{"sku": "../orders", "quantity": 1}]}, "no product"),
    (
        "prepare_checkout",
        {"store": "demo", "items": [{"sku": f"{SKU}/../../orders", "quantity": 1}]},
        "no product",
    ),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": "' OR 1=1 --", "quantity": 1}]}, "no product"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": "x" * 65, "quantity": 1}]}, "items[0].sku"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": "", "quantity": 1}]}, "items[0].sku"),
    # Quantities out of range or of the wrong type.
    ("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 10**12}]}, "items[0].quantity"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 10**40}]}, "items[0].quantity"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 0}]}, "items[0].quantity"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": -5}]}, "items[0].quantity"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": 1.5}]}, "items[0].quantity"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": "3"}]}, "items[0].quantity"),
    ("prepare_checkout", {"store": "demo", "items": [{"sku": SKU, "quantity": True}]}, "items[0].quantity"),
    ("prepare_checkout", {"store": "demo", "items": [ITEM] * 101}, "items"),
    ("prepare_checkout", {"store": "demo", "items": []}, "items"),
    ("prepare_checkout", {"store": "demo", "items": "NB-A5-DOT"}, "items"),
    # Store names that try to reach other routes.
    ("prepare_checkout", {"store": "../demo", "items": [ITEM]}, "No store"),
    ("prepare_checkout", {"store": "demo/checkouts/x/orders", "items": [ITEM]}, "No store"),
    ("describe_store", {"store": "demo/admin"}, "No store"),
    ("describe_store", {"store": "demo", "action": "create_order"}, "action"),
    ("explain_checkout", {"store": "demo", "step": "place order"}, "step"),
    ("list_products", {"store": "demo", "limit": 10**9}, "limit"),
    # Tracking: read-only, whatever is passed along.
    ("track_order", {"store": "demo", "token": "../admin/orders"}, "No such order"),
    ("track_order", {"store": "demo", "token": "x" * 600}, "token"),
    ("track_order", {"store": "demo", "token": "t" * 32, "pay": True, "confirmations": 6}, "pay"),
    # Tools that do not exist.
    ("create_order", {"store": "demo"}, "Unknown tool"),
    ("place_order", {"store": "demo"}, "Unknown tool"),
    ("record_payment", {"store": "demo"}, "Unknown tool"),
    ("cancel_order", {"store": "demo"}, "Unknown tool"),
]


async def test_every_attempt_is_refused_and_nothing_changes(
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # One real order awaiting payment, so a move or a payment would show in the ledger.
    await Buyer(client).order()
    before = await ledger(sessionmaker)
    assert before["orders"] == 1
    assert before["reserved"] == 1
    async with assistant(app, settings) as mcp:
        for tool, arguments, says in ATTEMPTS:
            message = refused(await mcp.call_tool(tool, arguments))
            assert says in message, (tool, arguments, message)
            if "takes no such argument" in message:
                assert "No tool can place an order" in message
    assert await ledger(sessionmaker) == before


async def test_a_token_from_another_store_reads_nothing_and_moves_nothing(
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session, session.begin():
        await make_store(session, slug="other")
    theirs = await Buyer(client, store="other").order()
    before = await ledger(sessionmaker)
    async with assistant(app, settings) as mcp:
        assert "No such order in this store" in refused(
            await mcp.call_tool("track_order", {"store": "demo", "token": theirs["token"]})
        )
        # Read under its own store, any number of times: still waiting for payment, nothing recorded.
        for _ in range(3):
            view = ok(await mcp.call_tool("track_order", {"store": "other", "token": theirs["token"]}))
            assert view["status"] == "awaiting_payment"
            assert Decimal(view["payment"]["received_amount"]) == 0
    assert await ledger(sessionmaker) == before


async def test_the_largest_cart_reserves_nothing(
    app: FastAPI, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A cart above the stock on hand is only a cart: stock is checked and held when the buyer orders."""
    before = await ledger(sessionmaker)
    async with assistant(app, settings) as mcp:
        items = [{"sku": SKU, "quantity": MAX_QUANTITY}, {"sku": "CASE-CANVAS", "quantity": MAX_QUANTITY}]
        prepared = ok(await mcp.call_tool("prepare_checkout", {"store": "demo", "items": items}))
    assert [line["available"] for line in prepared["items"]] == [False, False]
    assert prepared["totals"]["subtotal"] == "38500000.00"
    assert await ledger(sessionmaker) == {**before, "checkouts": before["checkouts"] + 1}
