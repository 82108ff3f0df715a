"""The worker's payment pass: watch on-chain addresses through Esplora, open pending remote
instructions, act again on callbacks that failed. Each address is read outside any transaction;
what was seen is recorded in a short transaction of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
import structlog
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.orders.models import Order
from ordergate.orders.state import record_event
from ordergate.orders.status import OrderStatus
from ordergate.payments.config import OnchainSettings
from ordergate.payments.esplora import Esplora, EsploraError, SeenOutput, outputs_to
from ordergate.payments.inbox import retry_failed
from ordergate.payments.models import PaymentInstruction, PaymentTransaction
from ordergate.payments.onchain import onchain_settings
from ordergate.payments.outside import CALL_TIMEOUT, outside_client
from ordergate.payments.refund_updates import check_btcpay_refunds
from ordergate.payments.refunds import retry_pending_refunds
from ordergate.payments.remote import prepare_pending
from ordergate.payments.service import LATE_GRACE, flag, order_for_payment, record_payment, settle
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod

log = structlog.get_logger("ordergate.payments")
ACTIVE_EVERY = timedelta(seconds=10)  # addresses a buyer may be paying right now
IDLE_EVERY = timedelta(minutes=2)  # expired, refreshed, funded: watched for late or extra payments
WATCH_AFTER_EXPIRY = timedelta(days=7)


@dataclass(frozen=True)
class WatchTarget:
    instruction_id: int
    order_id: int
    address: str
    esplora_url: str


async def watch_targets(session: AsyncSession, *, now: datetime, limit: int) -> list[WatchTarget]:
    pi = PaymentInstruction
    active = and_(
        Order.status == OrderStatus.AWAITING_PAYMENT,
        pi.superseded_at.is_(None),
        or_(pi.expires_at > now - LATE_GRACE, pi.covered_at.is_not(None)),
    )
    rows = (
        await session.execute(
            select(pi.id, pi.order_id, pi.destination, PaymentMethod.config)
            .join(Order, Order.id == pi.order_id)
            .join(
                PaymentMethod, and_(PaymentMethod.store_id == Order.store_id, PaymentMethod.key == pi.method)
            )
            .where(
                pi.kind == "onchain",
                # Superseded and expired addresses too: a late payment must still be seen.
                or_(pi.expires_at > now - WATCH_AFTER_EXPIRY, and_(active, pi.covered_at.is_not(None))),
                or_(
                    pi.checked_at.is_(None),
                    and_(active, pi.checked_at <= now - ACTIVE_EVERY),
                    pi.checked_at <= now - IDLE_EVERY,
                ),
            )
            .order_by(pi.checked_at.is_not(None), pi.checked_at, pi.id)
            .limit(limit)
        )
    ).all()
    targets = []
    for instruction_id, order_id, address, config in rows:
        cfg = onchain_settings(config or {})
        if isinstance(cfg, OnchainSettings):
            targets.append(WatchTarget(instruction_id, order_id, address, cfg.esplora_url))
    return targets


async def record_outputs(
    session: AsyncSession, target: WatchTarget, outputs: list[SeenOutput], tip: int, *, now: datetime
) -> int:
    """Record what the address shows; returns how many payments were new or changed."""
    order = await order_for_payment(session, target.order_id)
    if order is None:
        return 0
    instruction = next(i for i in order.instructions if i.id == target.instruction_id)
    # Esplora tells no time for a mempool transaction: one seen by the first look after the window
    # closed (within the grace) was sent while it was open; one seen later is late.
    first_look_after = instruction.checked_at is None or instruction.checked_at < instruction.expires_at
    in_time = now < instruction.expires_at or (first_look_after and now < instruction.expires_at + LATE_GRACE)
    known = {t.reference: t for t in instruction.transactions}
    changed = 0
    for output in outputs:
        confirmations = output.confirmations(tip)
        tx = known.get(output.reference)
        if tx is not None and tx.dropped_at is None and confirmations < tx.confirmations:
            reorganised(session, order, instruction, tx, confirmations, now=now)
            changed += 1
            continue
        if tx is not None and tx.dropped_at is None and confirmations == tx.confirmations:
            continue
        await record_payment(
            session,
            order,
            instruction,
            amount=output.amount,
            reference=output.reference,
            confirmations=confirmations,
            actor="onchain",
            in_time=in_time,
        )
        changed += 1
    listed = {o.reference for o in outputs}
    for tx in instruction.transactions:
        if tx.dropped_at is None and tx.confirmations > 0 and tx.reference not in listed:
            # Mined, then gone from the chain and the mempool: the block that held it was orphaned.
            reorganised(session, order, instruction, tx, 0, now=now)
            changed += 1
    dropped = [
        t
        for t in instruction.transactions
        if t.dropped_at is None and t.confirmations == 0 and t.reference not in listed
    ]
    for tx in dropped:
        # Replaced (RBF) or evicted before confirming: kept on record, no longer counted.
        tx.dropped_at = now
        record_event(session, order, "payment_dropped", actor="onchain", data={"reference": tx.reference})
        changed += 1
    if dropped:
        await settle(session, order, instruction, actor="onchain", now=now)
    instruction.checked_at = now
    await session.flush()
    return changed


def reorganised(
    session: AsyncSession,
    order: Order,
    instruction: PaymentInstruction,
    tx: PaymentTransaction,
    confirmations: int,
    *,
    now: datetime,
) -> None:
    """A chain reorganisation took confirmations back: recorded as an event, and an order funded on
    that payment goes to the operator while the payment has fewer than it was funded on."""
    record_event(
        session,
        order,
        "payment_reorg",
        actor="onchain",
        data={
            "reference": tx.reference,
            "confirmations_before": tx.confirmations,
            "confirmations": confirmations,
        },
    )
    tx.confirmations, tx.updated_at = confirmations, now
    if order.status != OrderStatus.AWAITING_PAYMENT and confirmations < instruction.required_confirmations:
        flag(
            order,
            f"chain reorganisation: payment {tx.reference[:16]}… now has {confirmations} of "
            f"{instruction.required_confirmations} confirmations",
            session=session,
        )


async def watch_onchain(
    maker: async_sessionmaker[AsyncSession], *, http: httpx.AsyncClient, limit: int = 200
) -> int:
    async with maker() as session, session.begin():
        targets = await watch_targets(session, now=clock.now(), limit=limit)
    tips: dict[str, int] = {}
    changed = 0
    for target in targets:
        esplora = Esplora(target.esplora_url, http)
        try:
            if target.esplora_url not in tips:
                tips[target.esplora_url] = await esplora.tip_height()
            outputs = outputs_to(target.address, await esplora.address_txs(target.address))
        except EsploraError as exc:
            log.warning("onchain_watch_failed", instruction=target.instruction_id, error=str(exc)[:200])
            continue
        async with maker() as session, session.begin():
            changed += await record_outputs(
                session, target, outputs, tips[target.esplora_url], now=clock.now()
            )
    return changed


async def payments_pass(maker: async_sessionmaker[AsyncSession], settings: Settings | None = None) -> int:
    """One worker pass over payments; never raises (the rest of the worker's pass must run)."""
    total = 0
    async with outside_client(CALL_TIMEOUT) as http:
        steps: tuple[tuple[Callable[..., Awaitable[Any]], str], ...] = (
            (partial(prepare_pending, settings=settings), "prepare"),
            (watch_onchain, "watch"),
            (retry_pending_refunds, "refunds"),
            (check_btcpay_refunds, "btcpay refunds"),
        )
        for step, name in steps:
            try:
                total += await step(maker, http=http)
            except Exception as exc:  # noqa: BLE001 - one failed step must not stop the others
                log.error("payments_pass_failed", step=name, error=type(exc).__name__, detail=str(exc)[:200])
    try:
        total += await retry_failed(maker)
    except Exception as exc:  # noqa: BLE001 - logged; the worker retries on its next pass
        log.error("payments_pass_failed", step="callbacks", error=type(exc).__name__, detail=str(exc)[:200])
    return total
