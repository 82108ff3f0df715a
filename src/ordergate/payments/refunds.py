"""Refunds: full or partial (by amount or by lines), with or without restock, through the provider
where there is one (Stripe, BTCPay), simulated for the sandbox, recorded with the operator's
evidence for on-chain, bank and channel payments.

Never more than was paid and not yet refunded: the order row is locked before the refunds are
summed, and a pending refund counts against the rest, so two refunds at once cannot exceed it.
A provider is asked with no transaction open: the pending refund is committed first (a crash
after the provider answered leaves a pending row to reconcile, never a refund nobody knows of)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock, money
from ordergate.audit.service import Actor
from ordergate.catalog.admin import restock_line
from ordergate.errors import Conflict, Forbidden, Unprocessable
from ordergate.notifications.service import notify_refund
from ordergate.orders.followers import announce_refund
from ordergate.orders.models import Order
from ordergate.orders.schemas import RefundIn, RefundOut
from ordergate.orders.service import load_order
from ordergate.orders.state import move, record_event
from ordergate.orders.status import PAID_STATUSES, OrderStatus
from ordergate.orders.views import refund_view
from ordergate.payments.models import PaymentInstruction, Refund
from ordergate.payments.outside import CALL_TIMEOUT, outside_client
from ordergate.payments.protocol import ProviderUnavailable
from ordergate.payments.refund_calls import RefundAnswer, RefundAsk, ask_provider
from ordergate.payments.refund_plan import RefundTooLarge, plan_refund
from ordergate.sql import execute_counted
from ordergate.stores.models import PaymentMethod, Store
from ordergate.stores.service import get_store

if TYPE_CHECKING:
    import httpx

PROVIDER_KINDS = ("stripe", "btcpay")
RETRY_AFTER = timedelta(seconds=60)
MAX_ATTEMPTS = 20
SIMULATED_KINDS = ("sandbox",)
PENDING, SUCCEEDED, FAILED, RECORDED = "pending", "succeeded", "failed", "recorded"
# Stock taken off the shelf by payment and not yet put back: only then can a refund restock.
STOCK_OUT = PAID_STATUSES
log = structlog.get_logger("ordergate.payments")


def paid_amount(order: Order) -> Decimal:
    """What the buyer paid, in the order's currency: its total once it was funded (here, or in
    its channel before it reached us); nothing before."""
    reached = any(e.type == "status" and e.to_status == OrderStatus.FUNDED for e in order.events)
    if reached or order.status in (*STOCK_OUT, OrderStatus.REFUNDED):
        return order.total
    return Decimal(0)


def accepted_amount(refunds: list[Refund]) -> Decimal:
    """What the accepted refunds give back: succeeded, recorded, or pending with the provider's
    answer (a pending refund the provider has not answered yet is not accepted)."""
    return sum(
        (
            r.amount
            for r in refunds
            if r.state in (SUCCEEDED, RECORDED) or (r.state == PENDING and r.provider_reference is not None)
        ),
        Decimal(0),
    )


async def note_refunded(session: AsyncSession, order: Order, refunds: list[Refund]) -> None:
    """Keep `order.refunded` and tell whoever follows refunds (loyalty points)."""
    refunded = accepted_amount(refunds)
    if refunded != order.refunded:
        order.refunded = refunded
        await announce_refund(session, order)


def _holding(refund: Refund) -> bool:
    """Counts against what can still be refunded (everything but a failed refund)."""
    return refund.state != FAILED


def _paying_instruction(order: Order) -> PaymentInstruction | None:
    with_money = [i for i in order.instructions if any(t.dropped_at is None for t in i.transactions)]
    if with_money:
        return with_money[-1]
    current = [i for i in order.instructions if i.superseded_at is None]
    return current[-1] if current else None


async def locked_refunds(session: AsyncSession, order: Order) -> list[Refund]:
    """Lock the order, then read its refunds fresh: whoever locks second sees the first's refund."""
    await session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    rows = await session.scalars(
        select(Refund)
        .where(Refund.order_id == order.id)
        .order_by(Refund.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def start_refund(
    session: AsyncSession,
    store: Store,
    number: str,
    data: RefundIn,
    *,
    actor: Actor,
    ceiling: Decimal | None = None,
) -> tuple[Order, Refund, RefundAsk | None]:
    """The refund row, settled at once (sandbox, recorded) or pending with what to ask its provider.
    `ceiling`: the most this actor may refund at once (a staff member's limit)."""
    order = await load_order(session, store, number=number)
    refunds = await locked_refunds(session, order)
    paid = paid_amount(order)
    if paid <= 0:
        raise Conflict("Nothing was paid for this order, so there is nothing to refund", field="amount")
    remaining = paid - sum((r.amount for r in refunds if _holding(r)), Decimal(0))
    if remaining <= 0:
        raise RefundTooLarge("Everything paid for this order is refunded already", field="amount")
    plan = plan_refund(order, data, [r for r in refunds if _holding(r)], remaining)
    if ceiling is not None and plan.amount > ceiling:
        raise Forbidden(
            f"Your refund limit is {money.text(ceiling, order.currency)} {order.currency}: "
            "ask an owner to refund more",
            field="amount",
        )
    instruction = _paying_instruction(order)
    kind = instruction.kind if instruction is not None else "channel"
    if kind in PROVIDER_KINDS and (instruction is None or not instruction.provider_ref):
        raise Conflict(f"This order's {kind} payment has no provider reference to refund", field="payment")
    if kind not in (*PROVIDER_KINDS, *SIMULATED_KINDS) and not data.reference:
        raise Unprocessable(
            "Give the refund's reference (the transaction id or bank reference of the money sent back)",
            field="reference",
        )
    now = clock.now()
    public_id = "rf_" + secrets.token_urlsafe(12)
    refund = Refund(
        public_id=public_id,
        store_id=store.id,
        order_id=order.id,
        amount=plan.amount,
        currency=order.currency,
        state=PENDING if kind in PROVIDER_KINDS else (SUCCEEDED if kind in SIMULATED_KINDS else RECORDED),
        method=instruction.method if instruction is not None else order.source,
        kind=kind,
        provider_target=instruction.provider_ref if instruction is not None else None,
        provider_reference=f"sandbox-{public_id}" if kind in SIMULATED_KINDS else None,
        reference=data.reference,
        reason=data.reason,
        restock=data.restock and order.status in STOCK_OUT,
        lines=[{**line, "restocked": False} for line in plan.lines],
        actor=actor.label[:64],
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    order.refunds.append(refund)
    await session.flush()
    event = {"refund": public_id, "amount": money.text(plan.amount, order.currency), "asset": order.currency}
    record_event(session, order, "refund", actor=actor.label, data={**event, "reason": data.reason})
    audited = {**event, "kind": kind, "restock": refund.restock, "reference": data.reference}
    await actor.record(
        session, store_id=store.id, action="refund.create", target=order.number, detail=audited
    )
    if refund.state != PENDING:
        await _accepted(session, order, refund, [*refunds, refund], actor=actor.label)
        return order, refund, None
    ask = await _ask(session, store, order.number, refund)
    return order, refund, ask


async def _ask(session: AsyncSession, store: Store, number: str, refund: Refund) -> RefundAsk:
    config = await session.scalar(
        select(PaymentMethod.config).where(
            PaymentMethod.store_id == store.id, PaymentMethod.key == refund.method
        )
    )
    return RefundAsk(
        public_id=refund.public_id,
        kind=refund.kind,
        config=dict(config or {}),
        target=str(refund.provider_target),
        amount=refund.amount,
        currency=refund.currency,
        order_number=number,
        store_slug=store.slug,
        reason=refund.reason,
    )


async def _accepted(
    session: AsyncSession, order: Order, refund: Refund, refunds: list[Refund], *, actor: str
) -> None:
    """The money is on its way back: restock if asked, tell the buyer, and once refunds cover all
    that was paid, the order is `refunded`."""
    if refund.restock:
        products = {line.sku: line.product_id for line in order.lines if line.product_id is not None}
        lines = []
        for line in refund.lines or []:
            product_id = products.get(str(line["sku"]))
            if product_id is not None:
                await restock_line(
                    session,
                    product_id=product_id,
                    quantity=int(line["quantity"]),
                    order_id=order.id,
                    actor=actor,
                    reason=f"refund {refund.public_id}",
                )
            lines.append({**line, "restocked": product_id is not None})
        refund.lines = lines
    await notify_refund(session, order, refund)
    await note_refunded(session, order, refunds)
    covered = sum((r.amount for r in refunds if _holding(r)), Decimal(0))
    if covered >= paid_amount(order) and order.status in STOCK_OUT:
        await move(session, order, OrderStatus.REFUNDED, actor=actor, data={"refund": refund.public_id})
    await session.flush()


async def finish_refund(
    session: AsyncSession, store: Store, number: str, public_id: str, answer: RefundAnswer, *, actor: str
) -> Refund:
    """Store the provider's answer on the pending refund (in a new transaction)."""
    order = await load_order(session, store, number=number)
    refunds = await locked_refunds(session, order)
    refund = next(r for r in refunds if r.public_id == public_id)
    if refund.state != PENDING or refund.provider_reference is not None:
        return refund  # answered already (a retry raced this one)
    refund.state, refund.updated_at = answer.state, clock.now()
    refund.provider_reference, refund.claim_url, refund.detail = (
        answer.provider_reference,
        answer.claim_url,
        answer.detail,
    )
    refund.attempts += 1
    if answer.state == FAILED:
        record_event(
            session,
            order,
            "refund_failed",
            actor="system",
            data={"refund": public_id, "reason": answer.detail},
        )
        await session.flush()
        return refund
    await _accepted(session, order, refund, refunds, actor=actor)
    return refund


async def refund_order(
    session: AsyncSession, store: Store, number: str, data: RefundIn, *, actor: Actor
) -> RefundOut:
    """Refund (part of) an order; through its provider when it has one."""
    _, refund, ask = await start_refund(session, store, number, data, actor=actor)
    return await send_refund(session, store, number, refund, ask, actor=actor.label)


async def send_refund(
    session: AsyncSession, store: Store, number: str, refund: Refund, ask: RefundAsk | None, *, actor: str
) -> RefundOut:
    """Ask the provider for a refund start_refund left pending (nothing to ask: the refund as it is)."""
    if ask is None:
        return refund_view(refund)
    # Not flush-only, on purpose: the pending refund must be durable before the provider is asked,
    # and nothing may talk to the outside world from inside a transaction.
    await session.commit()
    try:
        async with outside_client(CALL_TIMEOUT) as http:
            answer = await ask_provider(ask, http)
    except ProviderUnavailable as exc:
        log.warning("refund_provider_unavailable", kind=ask.kind, refund=ask.public_id, detail=exc.detail)
        if ask.kind == "stripe":  # asked again with the same idempotency key: never twice
            refund.detail = f"{exc.detail}; asked again by the worker"
            await session.flush()
            return refund_view(refund)
        # BTCPay has no idempotency key: the operator checks its pull payments rather than us guessing.
        answer = RefundAnswer(FAILED, detail=f"{exc.detail}: check BTCPay's refunds before trying again")
    refund = await finish_refund(session, store, number, ask.public_id, answer, actor=actor)
    return refund_view(refund)


async def retry_pending_refunds(maker: async_sessionmaker[AsyncSession], *, http: httpx.AsyncClient) -> int:
    """Worker: ask Stripe again for refunds it never answered (same idempotency key, so a refund it
    made but whose answer was lost comes back as it is, never a second one)."""
    now = clock.now()
    async with maker() as session, session.begin():
        ids = list(
            await session.scalars(
                select(Refund.id)
                .where(
                    Refund.state == PENDING,
                    Refund.kind == "stripe",
                    Refund.provider_reference.is_(None),
                    Refund.updated_at <= now - RETRY_AFTER,
                    Refund.attempts < MAX_ATTEMPTS,
                )
                .order_by(Refund.id)
                .limit(20)
            )
        )
    answered = 0
    for refund_id in ids:
        async with maker() as session, session.begin():
            # A claim: whoever moves updated_at first asks; another worker skips this refund.
            claimed = await execute_counted(
                session,
                update(Refund)
                .where(
                    Refund.id == refund_id, Refund.state == PENDING, Refund.updated_at <= now - RETRY_AFTER
                )
                .values(updated_at=now, attempts=Refund.attempts + 1),
            )
            refund = await session.get(Refund, refund_id)
            order = await session.get(Order, refund.order_id) if refund is not None else None
            store = await session.get(Store, refund.store_id) if refund is not None else None
            if not claimed or refund is None or order is None or store is None:
                continue
            ask = await _ask(session, store, order.number, refund)
            slug, number = store.slug, order.number
        try:
            answer = await ask_provider(ask, http)
        except ProviderUnavailable:
            continue  # asked again after RETRY_AFTER
        async with maker() as session, session.begin():
            shop = await get_store(session, slug)
            await finish_refund(session, shop, number, ask.public_id, answer, actor="worker")
        answered += 1
    return answered
