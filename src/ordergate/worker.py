"""The background worker: expires checkouts and unpaid orders on time, one short transaction each pass."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.checkout.service import sweep_expired_checkouts
from ordergate.orders.service import expire_due_orders

log = structlog.get_logger("ordergate.worker")


@dataclass
class PassResult:
    checkouts_expired: int = 0
    orders_expired: int = 0


async def run_once(maker: async_sessionmaker[AsyncSession]) -> PassResult:
    result = PassResult()
    async with maker() as session, session.begin():
        result.checkouts_expired = await sweep_expired_checkouts(session)
    while True:
        async with maker() as session, session.begin():
            expired = await expire_due_orders(session, limit=100)
        result.orders_expired += expired
        if expired < 100:
            break
    return result


async def run_forever(
    maker: async_sessionmaker[AsyncSession], *, interval: float, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            result = await run_once(maker)
            if result.checkouts_expired or result.orders_expired:
                log.info("worker_pass", **result.__dict__)
        except Exception as exc:  # a failed pass is retried on the next tick; the worker stays up
            log.error("worker_pass_failed", error=type(exc).__name__, detail=str(exc)[:200])
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
