"""Writing an accepted payload into the one order model: a new order for a create, legal state
moves for an update. Stock follows the same rules as the guest checkout's orders: the create
reserves (one guarded UPDATE per line), and every later move goes through orders/state.py, which
commits, releases or returns it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ordergate import clock, money, security
from ordergate.catalog.models import Product
from ordergate.catalog.service import reserve_stock
from ordergate.errors import OutOfStock
from ordergate.intake.models import ACCEPTED, IntakePayload, IntakeSource, SkuMapping
from ordergate.intake.rules import TARGET_STATUS, Contact, Finding, ResolvedLine, line_total, path_to
from ordergate.intake.schemas import CanonicalOrder
from ordergate.orders.models import Order, OrderLine, Shipment
from ordergate.orders.place import open_order, record_status
from ordergate.orders.state import ALLOWED_MOVES, move, record_event
from ordergate.orders.status import OrderStatus
from ordergate.stores.models import Store

# A channel's order never gets a new payment instruction from us: the refresh move is not for it.
INTAKE_MOVES = [m for m in ALLOWED_MOVES if m != (OrderStatus.EXPIRED, OrderStatus.AWAITING_PAYMENT)]


def actor(source: IntakeSource) -> str:
    return f"intake:{source.key}"[:32]


async def lock_external_order(session: AsyncSession, source: IntakeSource, external_id: str) -> None:
    """Payloads about one external order are processed one at a time (PostgreSQL: a transaction
    lock; SQLite runs one writer at a time anyway), so an update can't slip past its create."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"{source.id}:{external_id}".encode()).digest()
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest[:8], "big", signed=True)}
    )


async def find_order(
    session: AsyncSession, store: Store, source: IntakeSource, external_id: str
) -> Order | None:
    return await session.scalar(
        select(Order)
        .where(Order.store_id == store.id, Order.source == source.key, Order.external_id == external_id)
        .options(selectinload(Order.lines), selectinload(Order.events), selectinload(Order.shipments))
    )


async def last_applied_at(
    session: AsyncSession, source: IntakeSource, external_id: str, *, other_than: int
) -> datetime | None:
    value: datetime | None = await session.scalar(
        select(func.max(IntakePayload.occurred_at)).where(
            IntakePayload.source_id == source.id,
            IntakePayload.external_id == external_id,
            IntakePayload.status == ACCEPTED,
            IntakePayload.id != other_than,
        )
    )
    if value is not None and value.tzinfo is None:  # SQLite's max() bypasses the column type
        value = value.replace(tzinfo=clock.now().tzinfo)
    return value


async def mappings_for(session: AsyncSession, source: IntakeSource, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    rows = await session.execute(
        select(SkuMapping.external_sku, SkuMapping.sku).where(
            SkuMapping.source_id == source.id, SkuMapping.external_sku.in_(keys)
        )
    )
    return {external: sku for external, sku in rows.all()}


@dataclass(frozen=True)
class Moves:
    applied: list[OrderStatus]
    finding: Finding | None = None


async def walk(
    session: AsyncSession,
    order: Order,
    canonical: CanonicalOrder,
    *,
    source: IntakeSource,
    data: dict[str, Any],
) -> Moves:
    """Move `order` to the state the channel reports, one legal move at a time."""
    target = TARGET_STATUS[canonical.status]
    path = path_to(OrderStatus(order.status), target, INTAKE_MOVES)
    if path is None:
        allowed = sorted(str(b) for a, b in INTAKE_MOVES if a == order.status) or ["nothing"]
        return Moves(
            [],
            Finding(
                "state.transition",
                "status",
                f"order {order.number} is {order.status}; the channel says {canonical.status}, but from "
                f"{order.status} it can only become {', '.join(allowed)}",
            ),
        )
    for step in path:
        await move(
            session, order, step, actor=actor(source), data={**data, "channel_status": canonical.status}
        )
        if step == OrderStatus.SHIPPED:
            shipment = Shipment(
                order_id=order.id,
                carrier=(canonical.shipment.carrier if canonical.shipment else None) or source.kind,
                tracking_number=(canonical.shipment.tracking_number if canonical.shipment else None) or "",
                evidence=f"reported by {source.key}",
                shipped_at=clock.now(),
            )
            session.add(shipment)
            order.shipments.append(shipment)
    return Moves(path)


async def create_order(
    session: AsyncSession,
    *,
    store: Store,
    source: IntakeSource,
    canonical: CanonicalOrder,
    resolved: list[ResolvedLine | None],
    products: dict[str, Product],
    contact: Contact,
    hold_stock: bool,
    attention: list[str],
    data: dict[str, Any],
) -> tuple[Order | None, list[Finding]]:
    """A new order in the state the channel reports. Returns stock findings instead of an order
    when the catalog cannot hold the lines and `hold_stock` (the rule blocks)."""
    currency = canonical.currency or store.currency
    # Cancelled before it reached us: recorded as such, holding and returning nothing.
    cancelled = TARGET_STATUS[canonical.status] == OrderStatus.CANCELLED
    lines: list[OrderLine] = []
    short: list[Finding] = []
    for n, (line, target) in enumerate(zip(canonical.lines, resolved, strict=True)):
        # The completeness rule blocks a payload without these first.
        assert line.quantity is not None
        assert line.unit_price is not None
        product = products.get(target.sku) if target else None
        if product is not None and not cancelled and not canonical.test:
            try:
                await reserve_stock(session, product_id=product.id, sku=product.sku, quantity=line.quantity)
            except OutOfStock:
                short.append(
                    Finding(
                        "stock.available",
                        f"lines[{n}].quantity",
                        f"{line.quantity} x {product.sku} wanted, {product.available_quantity} available",
                    )
                )
                product = None  # kept without a hold when the rule only warns
        sku = target.sku if target else (line.sku or line.external_ref or "?")
        lines.append(
            OrderLine(
                # A test order's lines name no product: no later move of it touches the stock.
                product_id=product.id if product and not canonical.test else None,
                sku=sku[:64],
                external_sku=(target.external_sku if target else line.sku or line.external_ref),
                name=(line.name or (product.name if product else sku))[:200],
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line_total(line.unit_price, line.quantity, line.line_total),
            )
        )
    if short and hold_stock:
        return None, short
    attention = attention + [f.rule for f in short]
    subtotal = sum((ln.line_total for ln in lines), Decimal(0)) - canonical.discount
    order = await open_order(
        session,
        store_id=store.id,
        source=source.key,
        external_id=canonical.external_id,
        # Channel orders have no tracking link of ours: a random token nobody holds fills the column.
        token_hash=security.hash_token(security.new_token()),
        currency=currency,
        subtotal=money.quantize(subtotal, currency),
        shipping=money.quantize(canonical.shipping + canonical.fees, currency),
        total=money.quantize(canonical.total or Decimal(0), currency),
        email=contact.email,
        phone=contact.phone,
        delivery={k: v for k, v in canonical.delivery.model_dump().items() if v}
        if canonical.delivery
        else None,
        payment_method=(canonical.payment_method or "external")[:64],
        test=canonical.test,
        attention_reason=("intake: " + ", ".join(sorted(set(attention))))[:200] if attention else None,
        lines=lines,
        first_status=OrderStatus.AWAITING_PAYMENT,
        actor=actor(source),
        event_data={
            **data,
            "name": canonical.name,
            "tax": str(canonical.tax),
            "channel_status": canonical.status,
        },
    )
    if cancelled:
        # Cancelled before it reached us: recorded as such, without move(): no stock was held.
        record_status(
            session,
            order,
            OrderStatus.CANCELLED,
            actor=actor(source),
            data={**data, "channel_status": canonical.status},
        )
        return order, short
    moves = await walk(session, order, canonical, source=source, data=data)
    assert moves.finding is None  # every state is reachable from awaiting_payment
    return order, short


async def update_order(
    session: AsyncSession,
    order: Order,
    canonical: CanonicalOrder,
    *,
    source: IntakeSource,
    data: dict[str, Any],
) -> Finding | None:
    """Apply a channel's update to its order: the state moves it implies, or a finding saying why not."""
    moves = await walk(session, order, canonical, source=source, data=data)
    if moves.finding is not None:
        return moves.finding
    if not moves.applied:
        record_event(session, order, "channel_update", actor=actor(source), data=data)
    return None
