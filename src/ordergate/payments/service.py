"""Payment instructions and payment evidence: funded once confirmed money covers the amount."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.errors import Conflict, NotAvailable
from ordergate.orders.models import Order
from ordergate.orders.state import AWAITING_PAYMENT, COMPLETED, FUNDED, SHIPPED, move, record_event
from ordergate.payments.models import PaymentInstruction, PaymentTransaction
from ordergate.payments.providers import OrderToPay, provider_for
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod, Store
from ordergate.stores.service import method_readiness

PAID_STATUSES = (FUNDED, SHIPPED, COMPLETED)


@dataclass(frozen=True)
class PaymentStanding:
    received: Decimal
    confirmed: Decimal
    remaining: Decimal
    confirmations: int
    state: str


def payment_window(store: Store, method: PaymentMethod, settings: Settings) -> int:
    return method.payment_window_seconds or store.payment_window_seconds or settings.payment_window_seconds


def find_method(store: Store, key: str) -> PaymentMethod | None:
    return next((m for m in store.payment_methods if m.key == key), None)


def issue_instruction(
    session: AsyncSession, store: Store, order: Order, method: PaymentMethod, *, settings: Settings
) -> PaymentInstruction:
    """A fresh instruction for `order` (new destination, amount quoted now, new expiry)."""
    readiness = method_readiness(method, settings=settings)
    if not readiness.ready:
        raise NotAvailable(
            f"Payment method {method.key} is not ready ({readiness.reason})", field="payment_method"
        )
    now = clock.now()
    draft = provider_for(method).instruction(
        method,
        OrderToPay(number=order.number, total=order.total, currency=order.currency),
        settings=settings,
        now=now,
        window=payment_window(store, method, settings),
    )
    instruction = PaymentInstruction(
        order_id=order.id,
        method=method.key,
        kind=method.kind,
        asset=draft.asset,
        amount=draft.amount,
        rate=draft.rate,
        destination=draft.destination,
        uri=draft.uri,
        required_confirmations=draft.required_confirmations,
        details=draft.details,
        created_at=now,
        expires_at=draft.expires_at,
        transactions=[],
    )
    session.add(instruction)
    return instruction


def active_instruction(order: Order) -> PaymentInstruction | None:
    """The instruction the buyer should pay now (needs `order.instructions` loaded)."""
    current = [i for i in order.instructions if i.superseded_at is None]
    return current[-1] if current else (order.instructions[-1] if order.instructions else None)


def standing(
    instruction: PaymentInstruction, *, order_status: str, now: datetime | None = None
) -> PaymentStanding:
    txs = instruction.transactions
    received = sum((t.amount for t in txs), Decimal(0))
    confirmed = sum(
        (t.amount for t in txs if t.confirmations >= instruction.required_confirmations), Decimal(0)
    )
    remaining = max(instruction.amount - received, Decimal(0))
    confirmations = min((t.confirmations for t in txs), default=0)
    if confirmed >= instruction.amount or order_status in PAID_STATUSES:
        state = "confirmed"
    elif order_status != AWAITING_PAYMENT or instruction.expires_at <= (now or clock.now()):
        state = "expired"  # expired or cancelled unpaid: this instruction is no longer payable
    elif Decimal(0) < received < instruction.amount:
        state = "partial"
    else:
        state = "pending"  # nothing yet, or the full amount waiting for confirmations
    return PaymentStanding(received, confirmed, remaining, confirmations, state)


async def record_payment(
    session: AsyncSession,
    order: Order,
    instruction: PaymentInstruction,
    *,
    amount: Decimal | None,
    reference: str | None,
    confirmations: int,
    actor: str,
) -> PaymentTransaction:
    """Record evidence of one incoming payment; fund the order when confirmed money covers it.

    Nothing is dropped: a payment to an expired, cancelled or already funded order is recorded
    and the order is flagged for the operator instead of being funded at a stale rate."""
    now = clock.now()
    before = standing(instruction, order_status=order.status, now=now)
    existing = None
    if reference is not None:
        existing = next((t for t in instruction.transactions if t.reference == reference), None)
    if existing is not None:
        # The same transaction seen again: only its confirmations can grow.
        existing.confirmations = max(existing.confirmations, confirmations)
        existing.updated_at = now
        tx = existing
    else:
        if amount is None:
            amount = before.remaining
            if amount <= 0:
                raise Conflict("Nothing is due on this order", field="amount")
        tx = PaymentTransaction(
            instruction_id=instruction.id,
            order_id=order.id,
            reference=reference or "tx-" + security.new_token()[:16],
            amount=amount,
            confirmations=confirmations,
            late=order.status != AWAITING_PAYMENT,
            received_at=now,
            updated_at=now,
        )
        session.add(tx)
        instruction.transactions.append(tx)
        record_event(
            session,
            order,
            "payment_received",
            actor=actor,
            data={
                "amount": str(amount),
                "asset": instruction.asset,
                "reference": tx.reference,
                "confirmations": confirmations,
            },
        )
    after = standing(instruction, order_status=order.status, now=now)
    if order.status == AWAITING_PAYMENT and after.confirmed >= instruction.amount:
        await move(session, order, FUNDED, actor=actor, data={"confirmed": str(after.confirmed)})
        excess = after.received - instruction.amount
        if excess > 0:
            flag(order, f"overpaid by {excess} {instruction.asset}: refund the excess")
    elif tx.late and existing is None:
        flag(order, f"payment of {tx.amount} {instruction.asset} arrived while the order was {order.status}")
    await session.flush()
    return tx


def flag(order: Order, reason: str) -> None:
    order.needs_attention = True
    order.attention_reason = reason


async def instructions_due(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Ids of orders still awaiting payment whose current instruction has run out."""
    rows = await session.scalars(
        select(PaymentInstruction.order_id)
        .join(Order, Order.id == PaymentInstruction.order_id)
        .where(
            Order.status == AWAITING_PAYMENT,
            PaymentInstruction.superseded_at.is_(None),
            PaymentInstruction.expires_at <= now,
        )
        .limit(limit)
        # Several workers each take different orders (PostgreSQL; SQLite serialises writers anyway).
        .with_for_update(skip_locked=True, of=Order)
    )
    return list(rows)
