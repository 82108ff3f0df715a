"""The store operator's order work: finding orders, shipping, completing, cancelling, recording
payment evidence and noting refunds made outside ordergate."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.audit.service import Actor
from ordergate.errors import Conflict
from ordergate.orders.book import OrderFilters, order_page
from ordergate.orders.models import Order, Shipment
from ordergate.orders.schemas import (
    CancelIn,
    OperatorOrderOut,
    OrderListOut,
    PaymentEvidenceIn,
    ShipmentIn,
)
from ordergate.orders.service import expire_if_due, load_order
from ordergate.orders.state import move
from ordergate.orders.status import OrderStatus
from ordergate.orders.views import operator_view
from ordergate.payments.service import active_instruction, record_payment
from ordergate.stores.models import Store


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
    after: str | None = None,
) -> OrderListOut:
    """Newest first, one page (orders/book.py); `after` is the `next` of the page before."""
    filters = OrderFilters(status, attention, source, created_from, created_to, search)
    return await order_page(session, store, filters, limit=limit, after=after)


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
    session: AsyncSession, store: Store, number: str, data: ShipmentIn, *, actor: Actor
) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await move(session, order, OrderStatus.SHIPPED, actor=actor.label, data={"carrier": data.carrier})
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
    detail = {"carrier": data.carrier, "tracking_number": data.tracking_number}
    await actor.record(session, store_id=store.id, action="order.ship", target=order.number, detail=detail)
    return operator_view(order, store)


async def complete(session: AsyncSession, store: Store, number: str, *, actor: Actor) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await move(session, order, OrderStatus.COMPLETED, actor=actor.label)
    await actor.record(session, store_id=store.id, action="order.complete", target=order.number)
    return operator_view(order, store)


async def cancel(
    session: AsyncSession, store: Store, number: str, data: CancelIn, *, actor: Actor
) -> OperatorOrderOut:
    order = await load_order(session, store, number=number)
    await expire_if_due(session, order)
    await move(
        session,
        order,
        OrderStatus.CANCELLED,
        actor=actor.label,
        data={"reason": data.reason} if data.reason else {},
    )
    detail = {"reason": data.reason} if data.reason else None
    await actor.record(session, store_id=store.id, action="order.cancel", target=order.number, detail=detail)
    return operator_view(order, store)


async def record_payment_evidence(
    session: AsyncSession, store: Store, number: str, data: PaymentEvidenceIn, *, actor: Actor
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
        actor=actor.label,
    )
    detail = {"amount": str(data.amount), "reference": data.reference, "confirmations": data.confirmations}
    await actor.record(session, store_id=store.id, action="order.payment", target=order.number, detail=detail)
    return operator_view(order, store)
