"""The order state machine: one table of allowed moves; every move is an event in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from ordergate import clock
from ordergate.catalog.service import commit_stock, release_stock, reserve_stock, return_stock
from ordergate.errors import IllegalTransition
from ordergate.notifications.service import notify_status_change
from ordergate.orders import document as _document  # noqa: F401 (registers its flush hook)
from ordergate.orders.followers import announce_move
from ordergate.orders.models import Order, OrderEvent
from ordergate.orders.status import OrderStatus
from ordergate.sql import execute_counted

# (from, to) -> what happens to the order's stock on that move
ALLOWED_MOVES: dict[tuple[OrderStatus, OrderStatus], str | None] = {
    (OrderStatus.AWAITING_PAYMENT, OrderStatus.FUNDED): "commit",
    (OrderStatus.AWAITING_PAYMENT, OrderStatus.EXPIRED): "release",
    (OrderStatus.AWAITING_PAYMENT, OrderStatus.CANCELLED): "release",
    (OrderStatus.EXPIRED, OrderStatus.AWAITING_PAYMENT): "reserve",  # refresh only
    (OrderStatus.FUNDED, OrderStatus.SHIPPED): None,
    (OrderStatus.FUNDED, OrderStatus.CANCELLED): "return",
    (OrderStatus.SHIPPED, OrderStatus.COMPLETED): None,
    # Everything paid was given back (payments/refunds.py); restocking is the refund's own choice.
    (OrderStatus.FUNDED, OrderStatus.REFUNDED): None,
    (OrderStatus.SHIPPED, OrderStatus.REFUNDED): None,
    (OrderStatus.COMPLETED, OrderStatus.REFUNDED): None,
}


def can_move(current: str, to: str) -> bool:
    return (current, to) in ALLOWED_MOVES


def record_event(
    session: AsyncSession,
    order: Order,
    type_: str,
    *,
    actor: str = "system",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    event = OrderEvent(order_id=order.id, type=type_, actor=actor, data=data or {}, created_at=clock.now())
    session.add(event)
    order.events.append(event)  # callers load the order with its events
    return event


async def move(
    session: AsyncSession,
    order: Order,
    to: OrderStatus,
    *,
    actor: str = "system",
    data: dict[str, Any] | None = None,
) -> None:
    """Move `order` to `to`, or raise IllegalTransition (409). Needs `order.lines` loaded."""
    current = OrderStatus(order.status)
    if not can_move(current, to):
        raise IllegalTransition(f"An order that is {current} cannot become {to}", field="status")
    now = clock.now()
    # Compare-and-set: if another request moved the order first, this one loses cleanly.
    matched = await execute_counted(
        session,
        update(Order).where(Order.id == order.id, Order.status == current).values(status=to, updated_at=now),
    )
    if matched != 1:
        raise IllegalTransition("The order changed while this request ran; reload it", field="status")
    set_committed_value(order, "status", to)
    set_committed_value(order, "updated_at", now)
    effect = ALLOWED_MOVES[(current, to)]
    # Product rows in one order (SKU), as every writer takes them (catalog.reserve_items too).
    for line in sorted(order.lines, key=lambda line: line.sku):
        if line.product_id is None or effect is None:
            continue
        pid, qty = line.product_id, line.quantity
        if effect == "reserve":
            await reserve_stock(session, product_id=pid, sku=line.sku, quantity=qty, order_id=order.id)
        elif effect == "release":
            await release_stock(session, product_id=pid, quantity=qty, order_id=order.id, reason=to)
        elif effect == "commit":
            await commit_stock(session, product_id=pid, quantity=qty, order_id=order.id)
        elif effect == "return":
            await return_stock(session, product_id=pid, quantity=qty, order_id=order.id)
    event = OrderEvent(
        order_id=order.id,
        type="status",
        from_status=current,
        to_status=to,
        actor=actor,
        data=data or {},
        created_at=now,
    )
    session.add(event)
    order.events.append(event)
    await notify_status_change(session, order, event)  # the buyer's message, in this same transaction
    await announce_move(session, order, event)  # loyalty points, automatic accounts (accounts/)


def milestones(events: list[OrderEvent]) -> list[tuple[str, Any]]:
    """When each status was first reached, in the order reached."""
    seen: dict[str, Any] = {}
    for event in events:
        if event.type == "status" and event.to_status and event.to_status not in seen:
            seen[event.to_status] = event.created_at
    return list(seen.items())
