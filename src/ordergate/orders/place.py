"""Opening an order: the one place an order row, its lines and its first status event are written,
whoever takes the order (Checkout for guests and accounts, Intake for sales channels)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.orders import document  # its flush hook keeps every order's tracking document fresh
from ordergate.orders.models import Order, OrderEvent, OrderLine
from ordergate.orders.status import OrderStatus
from ordergate.payments.models import PaymentInstruction


def new_order(
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
    discount: Decimal = Decimal(0),
    discounts: Sequence[dict[str, Any]] = (),
) -> Order:
    """A new order under a new number, with its lines and its first status event, in memory only
    (no session): `open_order` adds it to a session, `insert_order` writes it with Core."""
    now = clock.now()
    return Order(
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
        discount=discount,
        discounts=list(discounts),
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


async def open_order(session: AsyncSession, **fields: Any) -> Order:
    """Insert a `new_order(**fields)` through the session (one flush), for callers that go on to
    move it in the same transaction (intake). Holds no stock and issues no payment instruction:
    the caller does what its kind of order needs. An IntegrityError from the flush (a spent
    idempotency key, a channel's order twice) is the caller's to translate."""
    order = new_order(**fields)
    session.add(order)
    await session.flush()
    return order


def _values(row: object, table: Table) -> dict[str, Any]:
    """A row built in memory as the values of its INSERT: every column but an unset default."""
    values = {}
    for column in table.columns:
        value = getattr(row, column.key)
        if value is None and (column.primary_key or column.default is not None):
            continue
        values[column.key] = value
    return values


async def insert_order(session: AsyncSession, order: Order) -> None:
    """Write a `new_order` (with its payment instructions and tracking document set) with Core
    statements, one INSERT per table, none of them through the unit of work: the hot path of a
    placement. The order stays out of the session (sets `order.id`); the order's version and
    document are the ones it carries (orders.document's flush hook sees no flush here)."""
    conn = await session.connection()
    order.id = (await conn.execute(_INSERT_ORDER, _values(order, ORDERS))).scalar_one()
    for table, rows in (
        (cast(Table, OrderLine.__table__), order.lines),
        (cast(Table, OrderEvent.__table__), order.events),
        (cast(Table, PaymentInstruction.__table__), order.instructions),
    ):
        if rows:
            for row in rows:
                row.order_id = order.id
            await conn.execute(insert(table), [_values(row, table) for row in rows])


ORDERS = cast(Table, Order.__table__)
_INSERT_ORDER = insert(ORDERS).returning(ORDERS.c.id)


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
