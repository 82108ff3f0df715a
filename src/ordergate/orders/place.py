"""Opening an order: the one place an order row, its lines and its first status event are written,
whoever takes the order (Checkout for guests and accounts, Intake for sales channels)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.orders import document  # its flush hook keeps every order's tracking document fresh
from ordergate.orders.models import Order, OrderEvent, OrderLine
from ordergate.orders.status import OrderStatus


async def open_order(
    session: AsyncSession,
    *,
    store_id: int,
    source: str,
    token_hash: str,
    currency: str,
    subtotal: Decimal,
    shipping: Decimal,
    total: Decimal,
    email: str | None,
    phone: str | None,
    delivery: dict[str, str] | None,
    payment_method: str,
    lines: list[OrderLine],
    first_status: OrderStatus,
    actor: str,
    event_data: dict[str, Any],
    accepted_policies: Sequence[str] = (),
    link_seal: str | None = None,
    checkout_hash: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    account_id: int | None = None,
    external_id: str | None = None,
    attention_reason: str | None = None,
    test: bool = False,
    before_flush: Callable[[Order], Awaitable[None]] | None = None,
) -> Order:
    """Insert the order with its lines and its first status event (one flush), under a new number.

    Holds no stock and issues no payment instruction: the caller does what its kind of order needs.
    An IntegrityError from the flush (a spent idempotency key, a checkout placed twice) is the
    caller's to translate. `before_flush` completes the order in memory before that one flush
    (checkout adds the payment instruction and the tracking document: no second write)."""
    now = clock.now()
    order = Order(
        store_id=store_id,
        number=security.new_order_number(),
        token_hash=token_hash,
        link_seal=link_seal,
        checkout_hash=checkout_hash,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        source=source,
        external_id=external_id,
        account_id=account_id,
        status=first_status,
        currency=currency,
        subtotal=subtotal,
        shipping=shipping,
        total=total,
        email=email,
        phone=phone,
        delivery=delivery,
        accepted_policies=list(accepted_policies),
        payment_method=payment_method,
        needs_attention=attention_reason is not None,
        attention_reason=attention_reason,
        test=test,
        created_at=now,
        updated_at=now,
        version=document.new_version(),
        lines=lines,
        events=[
            OrderEvent(type="status", to_status=first_status, actor=actor, data=event_data, created_at=now)
        ],
        shipments=[],
        instructions=[],
    )
    if before_flush is not None:
        await before_flush(order)
    session.add(order)
    await session.flush()
    return order


def record_status(
    session: AsyncSession,
    order: Order,
    to: OrderStatus,
    *,
    actor: str,
    data: dict[str, Any],
) -> OrderEvent:
    """A status the order reached before we heard of it (a channel's order cancelled at the source):
    the row and its event, written as a move would, but holding, releasing and sending nothing."""
    event = OrderEvent(
        order_id=order.id,
        type="status",
        from_status=order.status,
        to_status=to,
        actor=actor,
        data=data,
        created_at=clock.now(),
    )
    order.status = to
    session.add(event)
    order.events.append(event)
    return event
