"""Helpers for the assistant tests: an MCP client on the tools, and a ledger of everything an order is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp import Client
from mcp.types import CallToolResult
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.agent.server import AgentServer, build_server
from ordergate.catalog.models import Product
from ordergate.checkout.models import Checkout
from ordergate.orders.models import Order, OrderEvent, Shipment
from ordergate.payments.models import PaymentInstruction, PaymentTransaction
from ordergate.settings import Settings

TOOLS = {
    "describe_store",
    "list_products",
    "suggest_with_cart",
    "explain_checkout",
    "prepare_checkout",
    "track_order",
}


def server_for(app: FastAPI, settings: Settings) -> AgentServer:
    return build_server(settings, lambda: app.state.sessionmaker)


@asynccontextmanager
async def assistant(app: FastAPI, settings: Settings) -> AsyncIterator[Client]:
    """An MCP client talking to the tools in-process over memory streams (the initialize handshake)."""
    async with Client(server_for(app, settings), mode="legacy") as client:
        yield client


def ok(result: CallToolResult) -> dict[str, Any]:
    text = result.content[0].text if result.content and hasattr(result.content[0], "text") else ""
    assert not result.is_error, text
    assert result.structured_content is not None
    return dict(result.structured_content)


def refused(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    text = str(getattr(result.content[0], "text", ""))
    assert text
    return text


async def ledger(maker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Everything that exists once an order is placed, paid or moved."""
    async with maker() as session:

        async def count(model: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        return {
            "orders": await count(Order),
            "order_events": await count(OrderEvent),
            "payment_instructions": await count(PaymentInstruction),
            "payment_transactions": await count(PaymentTransaction),
            "shipments": await count(Shipment),
            "statuses": sorted((await session.scalars(select(Order.status))).all()),
            "reserved": int(await session.scalar(select(func.sum(Product.reserved))) or 0),
            "on_hand": int(await session.scalar(select(func.sum(Product.on_hand))) or 0),
            "checkouts": await count(Checkout),
        }
