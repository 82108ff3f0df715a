"""The background worker: expires checkouts and unpaid orders on time, one short transaction each pass."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.accounts.sessions import sweep_account_records
from ordergate.checkout.service import sweep_expired_checkouts
from ordergate.db_retry import retrying
from ordergate.notifications.delivery import outbox_pass
from ordergate.orders.service import expire_due_order, orders_due
from ordergate.payments.watch import payments_pass
from ordergate.recommendations.counts import BATCH, fold_order_events
from ordergate.settings import Settings

log = structlog.get_logger("ordergate.worker")


@dataclass
class PassResult:
    checkouts_expired: int = 0
    orders_expired: int = 0
    messages_sent: int = 0
    messages_failed: int = 0  # retried later, or dead
    payments_seen: int = 0  # on-chain payments recorded, invoices opened, callbacks retried
    order_events_folded: int = 0  # status moves counted into bought-together pairs


async def run_once(maker: async_sessionmaker[AsyncSession], settings: Settings | None = None) -> PassResult:
    """One pass; with `settings`, also queue reminders and deliver the outbox (the CLI worker always does)."""
    result = PassResult()
    async with maker() as session, session.begin():
        result.checkouts_expired = await sweep_expired_checkouts(session)
    # Before the expiry sweep: a payment made just before a window closed is seen first.
    result.payments_seen = await payments_pass(maker, settings)
    result.orders_expired = await _expire_orders(maker)
    while True:  # after the expiry sweep, so its moves are folded once they settle
        async with maker() as session, session.begin():
            folded = await fold_order_events(session)
        result.order_events_folded += folded
        if folded < BATCH:
            break
    if settings is not None:
        async with maker() as session, session.begin():
            await sweep_account_records(session, settings=settings)  # ended sessions, old codes
        delivered = await outbox_pass(maker, settings)
        result.messages_sent = delivered.sent
        result.messages_failed = delivered.retried + delivered.dead
    return result


async def _expire_orders(maker: async_sessionmaker[AsyncSession], *, batch: int = 100) -> int:
    """Each due order in a transaction of its own (a batch in one transaction held many orders' and
    products' locks at once, and deadlocked with placements), retried when it loses a deadlock."""
    expired = 0
    while True:
        async with maker() as session:
            due = await orders_due(session, limit=batch)
        done = 0
        for order_id in due:

            async def expire_one(order_id: int = order_id) -> bool:
                async with maker() as session, session.begin():
                    return await expire_due_order(session, order_id)

            done += await retrying(expire_one, what="order expiry")
        expired += done
        if len(due) < batch or done == 0:
            return expired


async def run_forever(
    maker: async_sessionmaker[AsyncSession],
    *,
    interval: float,
    stop: asyncio.Event,
    settings: Settings | None = None,
) -> None:
    while not stop.is_set():
        try:
            result = await run_once(maker, settings)
            if any(result.__dict__.values()):
                log.info("worker_pass", **result.__dict__)
        except Exception as exc:  # noqa: BLE001 - a failed pass is retried on the next tick; the worker stays up
            log.error("worker_pass_failed", error=type(exc).__name__, detail=str(exc)[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
