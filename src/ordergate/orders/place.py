"""Opening an order: the one place an order row, its lines and its first status event are written,
whoever takes the order (Checkout for guests and accounts, Intake for sales channels)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from ordergate import clock, security
from ordergate.orders import document  # its flush hook keeps every order's tracking document fresh
from ordergate.orders.models import Order, OrderEvent, OrderLine
from ordergate.orders.status import OrderStatus
from ordergate.payments.models import PaymentInstruction
from ordergate.sql import Write, run_writes


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
    """A row built in memory as the values of its INSERT, column defaults applied here (an INSERT
    inside a CTE gets none from SQLAlchemy); an unset primary key is left to the database."""
    values = {}
    for column in table.columns:
        value = getattr(row, column.key)
        if value is None and column.primary_key:
            continue
        default = column.default
        if value is None and isinstance(default, ScalarElementColumnDefault):
            value = default.arg
        elif value is None and isinstance(default, CallableColumnDefault):
            value = default.arg(None)  # type: ignore[arg-type]  # wraps a no-argument callable
        values[column.key] = value
    return values


# PostgreSQL: the order's id drawn ahead of its INSERT, in a statement the placement runs anyway
# (its checkout's lock), so that the order and every row naming it go in one statement.
NEXT_ORDER_ID = func.nextval("orders_id_seq")


def _children(order: Order) -> list[Write]:
    """The order's lines, first event and payment instructions, naming `order.id`."""
    writes = []
    for table, rows in (
        (cast(Table, OrderLine.__table__), order.lines),
        (cast(Table, OrderEvent.__table__), order.events),
        (cast(Table, PaymentInstruction.__table__), order.instructions),
    ):
        for row in rows:
            row.order_id = order.id
            writes.append(Write(table, _values(row, table)))
    return writes


async def insert_order(
    session: AsyncSession,
    order: Order,
    *,
    then: Callable[[Order], Sequence[Write]] = lambda _order: (),
) -> None:
    """Write a `new_order` (its payment instructions and tracking document set) with Core, none of
    it through the unit of work: the hot path of a placement. `then(order)` gives the rows that ride
    with it, once `order.id` is known (the outbox's confirmation, the checkout's close). The order
    stays out of the session; its version and document are the ones it carries (orders.document's
    flush hook sees no flush here).

    With `order.id` already drawn (`NEXT_ORDER_ID`, PostgreSQL) everything is one statement
    (sql.run_writes); otherwise the order's INSERT returns its id, then one statement per table."""
    conn = await session.connection()
    if order.id is None:
        order.id = (await conn.execute(_INSERT_ORDER, _values(order, ORDERS))).scalar_one()
        writes = _children(order)
    else:
        writes = [Write(ORDERS, _values(order, ORDERS)), *_children(order)]
    await run_writes(conn, [*writes, *then(order)])


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
