"""Reading what the outbox would send (codes are sealed in it), and walking the account routes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.notifications.models import OutboxMessage
from ordergate.notifications.sealing import unseal
from ordergate.notifications.service import VERIFICATION_CODE, secret_context
from ordergate.settings import Settings
from tests.factories import DELIVERY, Buyer


async def last_code(maker: async_sessionmaker[AsyncSession], settings: Settings, recipient: str) -> str:
    """The code in the latest verification message to `recipient`, opened as the worker would."""
    async with maker() as session:
        message = await session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.kind == VERIFICATION_CODE, OutboxMessage.recipient == recipient)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    assert message is not None, f"no code was sent to {recipient}"
    assert message.sealed, f"no code was sent to {recipient}"
    return unseal(settings, message.sealed, context=secret_context(message.dedupe_key))


async def codes_sent(maker: async_sessionmaker[AsyncSession], recipient: str) -> int:
    async with maker() as session:
        rows = await session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.kind == VERIFICATION_CODE, OutboxMessage.recipient == recipient
            )
        )
        return len(rows.all())


def align_rate_windows() -> None:
    """Move the clock to just after the start of a 15-minute window, so rate-limit windows (fixed,
    by the clock) do not roll over in the middle of a test."""
    now = clock.now().timestamp()
    clock.advance(timedelta(seconds=900 - now % 900 + 1))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def email() -> str:
    return f"buyer-{uuid.uuid4().hex[:8]}@example.com"


async def order_for(
    client: httpx.AsyncClient, address: str, store: str = "demo", **kw: Any
) -> dict[str, Any]:
    """A guest order placed with `address` through the public API."""
    buyer = Buyer(client, store=store)
    chk = await buyer.open(**kw)
    r = await client.patch(
        f"/api/v1/stores/{store}/checkouts/{chk['id']}",
        json={"contact": {"email": address}, "delivery": DELIVERY},
    )
    assert r.status_code == 200, r.text
    r = await buyer.place(chk["id"])
    assert r.status_code == 201, r.text
    return dict(r.json())


async def claim(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    token: str,
    address: str,
    store: str = "demo",
) -> httpx.Response:
    """Create an account from an order: ask for the code, read it from the outbox, verify it."""
    base = f"/api/v1/stores/{store}/orders/{token}/account"
    r = await client.post(base)
    assert r.status_code == 202, r.text
    code = await last_code(maker, settings, address)
    return await client.post(f"{base}/verify", json={"code": code})
