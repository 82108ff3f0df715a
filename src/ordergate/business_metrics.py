"""Business gauges for /metrics, read from the database at scrape time (so every process agrees)."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.intake.models import IntakePayload
from ordergate.notifications.models import OutboxMessage
from ordergate.orders.models import Order
from ordergate.payments.models import PaymentInstruction
from ordergate.stores.models import Store

ORDERS = Gauge("ordergate_orders", "Orders by store and status", ["store", "status"])
ATTENTION = Gauge("ordergate_orders_needing_attention", "Orders flagged for the operator", ["store"])
OUTBOX = Gauge("ordergate_outbox_rows", "Outbox messages by state (pending is the backlog)", ["state"])
QUARANTINE = Gauge(
    "ordergate_intake_stored",
    "Stored intake payloads by store and status (quarantined is the queue)",
    ["store", "status"],
)
PAYMENTS = Gauge(
    "ordergate_payment_instructions",
    "Current payment instructions by method kind and the order's status",
    ["kind", "order_status"],
)


async def refresh_gauges(session: AsyncSession) -> None:
    slugs: dict[int, str] = {row[0]: row[1] for row in await session.execute(select(Store.id, Store.slug))}
    for gauge in (ORDERS, ATTENTION, OUTBOX, QUARANTINE, PAYMENTS):
        gauge.clear()  # a label set that dropped to zero rows must not linger with its old value

    for store_id, status, count in await session.execute(
        select(Order.store_id, Order.status, func.count())
        .where(Order.test.is_(False))  # a channel's test orders count nowhere
        .group_by(Order.store_id, Order.status)
    ):
        ORDERS.labels(slugs.get(store_id, "?"), status).set(count)
    for store_id, count in await session.execute(
        select(Order.store_id, func.count())
        .where(Order.needs_attention, Order.test.is_(False))
        .group_by(Order.store_id)
    ):
        ATTENTION.labels(slugs.get(store_id, "?")).set(count)
    for state, count in await session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    ):
        OUTBOX.labels(state).set(count)
    for store_id, status, count in await session.execute(
        select(IntakePayload.store_id, IntakePayload.status, func.count()).group_by(
            IntakePayload.store_id, IntakePayload.status
        )
    ):
        QUARANTINE.labels(slugs.get(store_id, "?"), status).set(count)
    for kind, status, count in await session.execute(
        select(PaymentInstruction.kind, Order.status, func.count())
        .join(Order, Order.id == PaymentInstruction.order_id)
        .where(PaymentInstruction.superseded_at.is_(None), Order.test.is_(False))
        .group_by(PaymentInstruction.kind, Order.status)
    ):
        PAYMENTS.labels(kind, status).set(count)
