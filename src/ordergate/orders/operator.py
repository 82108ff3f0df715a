"""The store operator's order work: finding orders, shipping, completing, cancelling, recording
payment evidence and noting refunds made outside ordergate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, money, security
from ordergate.errors import Conflict, Unprocessable
from ordergate.orders.models import Order, Shipment
from ordergate.orders.schemas import (
    CancelIn,
    OperatorOrderOut,
    OrderListOut,
    OrderSummaryOut,
    PaymentEvidenceIn,
    ShipmentIn,
)
from ordergate.orders.service import expire_if_due, load_order
from ordergate.orders.state import move
from ordergate.orders.status import STATUSES, OrderStatus
from ordergate.orders.views import operator_view
from ordergate.payments.service import active_instruction, record_payment
from ordergate.stores.models import Store

MAX_SEARCH = 100


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _search_clause(text: str) -> ColumnElement[bool]:
    """An order number (with or without its dash), part of an email address or phone number, or
    the order's id in its channel."""
    clauses = [Order.external_id == text]
    number = text.upper().replace(" ", "")
    if len(number) >= 4 and set(number) <= set(security.NUMBER_ALPHABET + "-"):
        clauses.append(Order.number.contains(number, autoescape=True))
        if "-" not in number and len(number) == 8:
            clauses.append(Order.number == f"{number[:4]}-{number[4:]}")
    clauses.append(func.lower(Order.email).contains(text.lower(), autoescape=True))
    digits = "".join(c for c in text if c.isdigit()).lstrip("0")  # a national 0 is not in E.164
    if len(digits) >= 4:
        clauses.append(Order.phone.contains(digits, autoescape=True))
    return or_(*clauses)


async def list_orders(
    session: AsyncSession,
    store: Store,
    *,
    status: str | None,
    attention: bool | None,
    limit: int,
    source: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    search: str | None = None,
) -> OrderListOut:
    """Newest first. `created_from`/`created_to` are whole UTC days, both included; `search` finds
    an order by number or by its buyer's email or phone."""
    if status is not None and status not in STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(STATUSES)}", field="status")
    if created_from is not None and created_to is not None and created_to < created_from:
        raise Unprocessable("created_to must not be before created_from", field="created_to")
    search = (search or "").strip()
    if len(search) > MAX_SEARCH:
        raise Unprocessable(f"search is at most {MAX_SEARCH} characters", field="q")
    for field, value in (("source", source), ("q", search)):
        if value and "\x00" in value:
            raise Unprocessable(f"{field} must not contain NUL characters", field=field)
    stmt = select(Order).where(Order.store_id == store.id).order_by(Order.created_at.desc(), Order.id.desc())
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if attention is not None:
        stmt = stmt.where(Order.needs_attention == attention)
    if source is not None:
        stmt = stmt.where(Order.source == source)
    if created_from is not None:
        stmt = stmt.where(Order.created_at >= _day_start(created_from))
    if created_to is not None:
        stmt = stmt.where(Order.created_at < _day_start(created_to + timedelta(days=1)))
    if search:
        stmt = stmt.where(_search_clause(search))
    rows = await session.scalars(stmt.limit(limit))
    return OrderListOut(
        items=[
            OrderSummaryOut(
                number=o.number,
                status=o.status,
                total=money.text(o.total, o.currency),
                currency=o.currency,
                source=o.source,
                needs_attention=o.needs_attention,
                attention_reason=o.attention_reason,
                created_at=o.created_at,
                test=o.test,
            )
            for o in rows
        ]
    )


async def order_sources(session: AsyncSession, store: Store) -> list[str]:
    """Every source the store's orders came from (`web-guest`, an intake source's key, ...)."""
    rows = await session.scalars(
        select(Order.source).where(Order.store_id == store.id).distinct().order_by(Order.source)
    )
    return list(rows)


async def operator_order(session: AsyncSession, store: Store, number: str) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    return operator_view(order, store)


async def record_shipment(
    session: AsyncSession, store: Store, number: str, data: ShipmentIn
) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await move(session, order, OrderStatus.SHIPPED, actor="operator", data={"carrier": data.carrier})
    shipment = Shipment(
        order_id=order.id,
        carrier=data.carrier,
        tracking_number=data.tracking_number,
        evidence=data.evidence,
        shipped_at=clock.now(),
    )
    session.add(shipment)
    order.shipments.append(shipment)
    await session.flush()
    return operator_view(order, store)


async def complete(session: AsyncSession, store: Store, number: str) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await move(session, order, OrderStatus.COMPLETED, actor="operator")
    await session.flush()
    return operator_view(order, store)


async def cancel(session: AsyncSession, store: Store, number: str, data: CancelIn) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    await move(
        session,
        order,
        OrderStatus.CANCELLED,
        actor="operator",
        data={"reason": data.reason} if data.reason else {},
    )
    await session.flush()
    return operator_view(order, store)


async def record_payment_evidence(
    session: AsyncSession, store: Store, number: str, data: PaymentEvidenceIn
) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    instruction = active_instruction(order)
    if instruction is None:
        raise Conflict("This order has no payment instruction", field="payment_method")
    await record_payment(
        session,
        order,
        instruction,
        amount=data.amount,
        reference=data.reference,
        confirmations=data.confirmations,
        actor="operator",
    )
    return operator_view(order, store)
