"""Payment instructions and payment evidence: funded once confirmed money, paid in time, covers the
amount. Nothing is dropped: partial, over, late and misdirected payments are recorded and flagged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ordergate import clock, money, security
from ordergate.errors import Conflict
from ordergate.orders.models import Order
from ordergate.orders.state import move, record_event
from ordergate.orders.status import PAID_STATUSES, OrderStatus
from ordergate.payments.models import OnchainWallet, PaymentInstruction, PaymentTransaction
from ordergate.payments.providers import OrderToPay, provider_for
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod, Store
from ordergate.stores.service import payment_window

# Kinds whose evidence reaches us with a delay (polling, callbacks): their window closes only once
# we have had the chance to hear of a payment made just before it closed.
WATCHED_KINDS = ("onchain",)
REMOTE_KINDS = ("btcpay", "stripe")
LATE_GRACE = timedelta(minutes=5)
# Provider statuses that end an instruction before its time (BTCPay Expired/Invalid, Stripe canceled).
CLOSED_STATUSES = ("Expired", "Invalid", "canceled")
ATTENTION_LENGTH = 200


@dataclass(frozen=True)
class PaymentStanding:
    received: Decimal  # everything seen and not dropped, late payments included
    confirmed: Decimal  # paid in time and confirmed enough: what funds the order
    remaining: Decimal
    confirmations: int
    state: str
    # The full amount arrived in time but not all its confirmations yet: how many are still needed.
    # Non-zero means "paid, waiting": the buyer must never be asked to pay again.
    confirmations_missing: int = 0


def find_method(store: Store, key: str) -> PaymentMethod | None:
    return next((m for m in store.payment_methods if m.key == key), None)


async def issue_instruction(
    session: AsyncSession, store: Store, order: Order, method: PaymentMethod, *, settings: Settings
) -> PaymentInstruction:
    """A fresh instruction for `order` (new destination, amount quoted now, new expiry), added to
    the session. The caller has checked that `method` is ready (stores.service.require_ready), once."""
    instruction = await draft_instruction(session, store, order, method, settings=settings)
    session.add(instruction)
    return instruction


async def draft_instruction(
    session: AsyncSession, store: Store, order: Order, method: PaymentMethod, *, settings: Settings
) -> PaymentInstruction:
    """The instruction `issue_instruction` adds, not yet added (a placement writes it with Core).

    Remote providers (BTCPay, Stripe) get a pending instruction here; its invoice or payment intent
    is opened after the transaction commits (payments.remote), never while it is open."""
    now = clock.now()
    draft = await provider_for(method).instruction(
        session,
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
        wallet_id=draft.wallet_id,
        derivation_index=draft.derivation_index,
        transactions=[],
    )
    return instruction


def active_instruction(order: Order) -> PaymentInstruction | None:
    """The instruction the buyer should pay now (needs `order.instructions` loaded)."""
    current = [i for i in order.instructions if i.superseded_at is None]
    return current[-1] if current else (order.instructions[-1] if order.instructions else None)


def confirming(order: Order) -> bool:
    """Paid in full, in time, and waiting for confirmations: nothing is left to pay (needs
    `order.instructions` loaded)."""
    current = active_instruction(order) if order.status == OrderStatus.AWAITING_PAYMENT else None
    return current is not None and current.superseded_at is None and current.covered_at is not None


def window_closed(instruction: PaymentInstruction, now: datetime) -> bool:
    """Whether this instruction can no longer be paid at its amount."""
    if instruction.superseded_at is not None:
        return True
    if instruction.provider_status in CLOSED_STATUSES:
        return True
    if instruction.covered_at is not None:
        return False  # paid in time: stays open while the confirmations come in
    if instruction.expires_at > now:
        return False
    if instruction.kind in WATCHED_KINDS:
        # Closed once the address was looked at after the expiry, or once the grace has run out.
        looked = instruction.checked_at is not None and instruction.checked_at >= instruction.expires_at
        return looked or now >= instruction.expires_at + LATE_GRACE
    if instruction.kind in REMOTE_KINDS and instruction.provider_ref is not None:
        return now >= instruction.expires_at + LATE_GRACE  # a callback may still be on its way
    return True


def _counted(instruction: PaymentInstruction) -> list[PaymentTransaction]:
    return [t for t in instruction.transactions if t.dropped_at is None and not t.late]


def standing(
    instruction: PaymentInstruction, *, order_status: str, now: datetime | None = None
) -> PaymentStanding:
    seen = [t for t in instruction.transactions if t.dropped_at is None]
    counted = _counted(instruction)
    received = sum((t.amount for t in seen), Decimal(0))
    paid = sum((t.amount for t in counted), Decimal(0))
    confirmed = sum(
        (t.amount for t in counted if t.confirmations >= instruction.required_confirmations), Decimal(0)
    )
    remaining = max(instruction.amount - paid, Decimal(0))
    confirmations = min((t.confirmations for t in counted), default=0)
    if confirmed >= instruction.amount or order_status in PAID_STATUSES:
        state = "confirmed"
    elif order_status != OrderStatus.AWAITING_PAYMENT or window_closed(instruction, now or clock.now()):
        state = "expired"  # expired, refreshed or cancelled unpaid: no longer payable
    elif Decimal(0) < paid < instruction.amount:
        state = "partial"
    else:
        state = "pending"  # nothing yet, or the full amount waiting for confirmations
    missing = 0
    if state == "pending" and paid > 0 and remaining == 0:
        missing = max(instruction.required_confirmations - confirmations, 1)
    return PaymentStanding(received, confirmed, remaining, confirmations, state, missing)


def _payable(order: Order, instruction: PaymentInstruction, now: datetime, in_time: bool | None) -> bool:
    if order.status != OrderStatus.AWAITING_PAYMENT or instruction.superseded_at is not None:
        return False
    if in_time is not None:
        return in_time and instruction.provider_status not in CLOSED_STATUSES
    return not window_closed(instruction, now)


async def record_payment(
    session: AsyncSession,
    order: Order,
    instruction: PaymentInstruction,
    *,
    amount: Decimal | None,
    reference: str | None,
    confirmations: int,
    actor: str,
    in_time: bool | None = None,
) -> PaymentTransaction:
    """Record evidence of one incoming payment; fund the order when confirmed money covers it.

    The same reference seen again only updates its confirmations. A payment that arrives when the
    instruction can no longer be paid (expired, refreshed, cancelled, already funded) is recorded
    as late, never funds the order at its stale rate, and flags the order for the operator.
    `in_time` is the provider's word on timeliness when it has one (needs the order's lines,
    events and instructions with transactions loaded)."""
    now = clock.now()
    existing = None
    if reference is not None:
        existing = next((t for t in instruction.transactions if t.reference == reference), None)
    if existing is not None:
        existing.confirmations = max(existing.confirmations, confirmations)
        existing.dropped_at = None  # seen again: back in the count
        existing.updated_at = now
        tx = existing
    else:
        if amount is None:
            amount = standing(instruction, order_status=order.status, now=now).remaining
            if amount <= 0:
                raise Conflict("Nothing is due on this order", field="amount")
        tx = PaymentTransaction(
            instruction_id=instruction.id,
            order_id=order.id,
            reference=reference or "tx-" + security.new_token()[:16],
            amount=amount,
            confirmations=confirmations,
            late=not _payable(order, instruction, now, in_time),
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
                "late": tx.late,
            },
        )
        if instruction.wallet_id is not None and instruction.derivation_index is not None:
            await _mark_address_used(session, instruction.wallet_id, instruction.derivation_index)
        if tx.late:
            _flag_late(session, order, instruction, tx)
    await settle(session, order, instruction, actor=actor, now=now)
    await session.flush()
    return tx


async def settle(
    session: AsyncSession, order: Order, instruction: PaymentInstruction, *, actor: str, now: datetime
) -> None:
    """Bring the order in line with its evidence: coverage, funding, overpayment."""
    counted = _counted(instruction)
    paid = sum((t.amount for t in counted), Decimal(0))
    if paid >= instruction.amount and instruction.covered_at is None and instruction.superseded_at is None:
        instruction.covered_at = now
    elif paid < instruction.amount and instruction.covered_at is not None:
        instruction.covered_at = None  # a payment that covered it vanished
    after = standing(instruction, order_status=order.status, now=now)
    if (
        order.status == OrderStatus.AWAITING_PAYMENT
        and instruction.superseded_at is None
        and after.confirmed >= instruction.amount
    ):
        await move(session, order, OrderStatus.FUNDED, actor=actor, data={"confirmed": str(after.confirmed)})
        excess = paid - instruction.amount
        if excess > 0:
            refund_due(session, order, instruction, excess, reason="overpaid")
            flag(order, f"overpaid by {excess} {instruction.asset}: refund the excess", session=session)


def _flag_late(
    session: AsyncSession, order: Order, instruction: PaymentInstruction, tx: PaymentTransaction
) -> None:
    amount = f"{money.quantize(tx.amount, instruction.asset)} {instruction.asset}"
    if instruction.superseded_at is not None:
        reason = f"payment of {amount} to an address replaced when the order was refreshed"
    elif order.status in PAID_STATUSES:
        reason = f"extra payment of {amount} after the order was paid: refund it"
    elif order.status == OrderStatus.CANCELLED:
        reason = f"payment of {amount} to a cancelled order: refund it"
    elif order.status == OrderStatus.EXPIRED:
        reason = f"late payment of {amount} arrived while the order was expired: not funded at the old rate"
    elif order.status == OrderStatus.AWAITING_PAYMENT:
        reason = f"late payment of {amount} after the payment window: not funded at the old rate"
    else:
        reason = f"payment of {amount} arrived while the order was {order.status}"
    refund_due(session, order, instruction, tx.amount, reason="late", reference=tx.reference)
    flag(order, reason, session=session)


def refund_due(
    session: AsyncSession,
    order: Order,
    instruction: PaymentInstruction,
    amount: Decimal,
    *,
    reason: str,
    reference: str | None = None,
) -> None:
    """Money we hold that the order does not use: recorded for the operator to refund or apply."""
    record_event(
        session,
        order,
        "refund_due",
        data={
            "amount": money.text(amount, instruction.asset),
            "asset": instruction.asset,
            "reason": reason,
            "reference": reference,
            "destination": instruction.destination,
        },
    )


def flag(order: Order, reason: str, *, session: AsyncSession | None = None) -> None:
    """Put the order on the operator's attention list; earlier reasons stay in the event log."""
    if order.needs_attention and order.attention_reason and order.attention_reason != reason:
        combined = f"{reason}; also: {order.attention_reason}"
    else:
        combined = reason
    order.needs_attention = True
    order.attention_reason = combined[:ATTENTION_LENGTH]
    if session is not None:
        record_event(session, order, "attention", data={"reason": reason})


def note_expiry(session: AsyncSession, order: Order, instruction: PaymentInstruction) -> None:
    """An order expired: money already received for it is flagged, never forgotten."""
    counted = _counted(instruction)
    paid = sum((t.amount for t in counted), Decimal(0))
    if paid > 0:
        refund_due(session, order, instruction, paid, reason="expired_partially_paid")
        flag(
            order,
            f"expired after a partial payment of {money.quantize(paid, instruction.asset)} "
            f"of {money.quantize(instruction.amount, instruction.asset)} {instruction.asset}",
            session=session,
        )


async def _mark_address_used(session: AsyncSession, wallet_id: int, index: int) -> None:
    await session.execute(
        update(OnchainWallet)
        .where(
            OnchainWallet.id == wallet_id,
            or_(OnchainWallet.last_used_index.is_(None), OnchainWallet.last_used_index < index),
        )
        .values(last_used_index=index)
        .execution_options(synchronize_session=False)
    )


async def order_for_payment(session: AsyncSession, order_id: int, *, lock: bool = True) -> Order | None:
    """An order with what recording a payment needs: lines, events, instructions and transactions."""
    stmt = (
        select(Order)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.lines),
            selectinload(Order.events),
            selectinload(Order.instructions).selectinload(PaymentInstruction.transactions),
        )
    )
    if lock:
        stmt = stmt.with_for_update(of=Order)
    order: Order | None = await session.scalar(stmt)
    return order


def _closed_clause(now: datetime):  # type: ignore[no-untyped-def]
    """SQL for window_closed() on instructions that are neither superseded nor covered."""
    pi = PaymentInstruction
    return or_(
        and_(pi.kind.not_in(WATCHED_KINDS + REMOTE_KINDS), pi.expires_at <= now),
        pi.expires_at <= now - LATE_GRACE,
        and_(pi.kind.in_(WATCHED_KINDS), pi.expires_at <= now, pi.checked_at >= pi.expires_at),
        and_(pi.kind.in_(REMOTE_KINDS), pi.expires_at <= now, pi.provider_ref.is_(None)),
        pi.provider_status.in_(CLOSED_STATUSES),
    )


async def instructions_due(
    session: AsyncSession, *, now: datetime, limit: int, lock: bool = True
) -> list[int]:
    """Ids of orders still awaiting payment whose current instruction can no longer be paid."""
    stmt = (
        select(PaymentInstruction.order_id)
        .join(Order, Order.id == PaymentInstruction.order_id)
        .where(
            Order.status == OrderStatus.AWAITING_PAYMENT,
            PaymentInstruction.superseded_at.is_(None),
            PaymentInstruction.covered_at.is_(None),
            _closed_clause(now),
        )
        .order_by(PaymentInstruction.order_id)
        .limit(limit)
    )
    if lock:
        # Several workers each take different orders (PostgreSQL; SQLite serialises writers anyway).
        stmt = stmt.with_for_update(skip_locked=True, of=Order)
    return list(await session.scalars(stmt))
