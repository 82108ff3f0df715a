"""Business gauges for /metrics (orders, outbox, intake, payments): read from the database at most
once per refresh interval, and served only to a scraper holding ORDERGATE_METRICS_TOKEN."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.intake.models import IntakePayload
from ordergate.notifications.models import OutboxMessage
from ordergate.orders.models import Order
from ordergate.payments.models import PaymentInstruction
from ordergate.stores.models import Store

# name -> (help, label names). Plain metric families, not Gauge objects: in multiprocess mode every
# Gauge lands in the shared files that the open part of /metrics reads.
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ordergate_orders": ("Orders by store and status", ("store", "status")),
    "ordergate_orders_needing_attention": ("Orders flagged for the operator", ("store",)),
    "ordergate_outbox_rows": ("Outbox messages by state (pending is the backlog)", ("state",)),
    "ordergate_intake_stored": (
        "Stored intake payloads by store and status (quarantined is the queue)",
        ("store", "status"),
    ),
    "ordergate_payment_instructions": (
        "Current payment instructions by method kind and the order's status",
        ("kind", "order_status"),
    ),
}
Samples = dict[str, list[tuple[tuple[str, ...], float]]]


async def read_gauges(session: AsyncSession) -> Samples:
    slugs: dict[int, str] = {row[0]: row[1] for row in await session.execute(select(Store.id, Store.slug))}
    out: Samples = {name: [] for name in FAMILIES}
    for store_id, status, count in await session.execute(
        select(Order.store_id, Order.status, func.count())
        .where(Order.test.is_(False))  # a channel's test orders count nowhere
        .group_by(Order.store_id, Order.status)
    ):
        out["ordergate_orders"].append(((slugs.get(store_id, "?"), str(status)), count))
    for store_id, count in await session.execute(
        select(Order.store_id, func.count())
        .where(Order.needs_attention, Order.test.is_(False))
        .group_by(Order.store_id)
    ):
        out["ordergate_orders_needing_attention"].append(((slugs.get(store_id, "?"),), count))
    for state, count in await session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    ):
        out["ordergate_outbox_rows"].append(((str(state),), count))
    for store_id, status, count in await session.execute(
        select(IntakePayload.store_id, IntakePayload.status, func.count()).group_by(
            IntakePayload.store_id, IntakePayload.status
        )
    ):
        out["ordergate_intake_stored"].append(((slugs.get(store_id, "?"), str(status)), count))
    for kind, status, count in await session.execute(
        select(PaymentInstruction.kind, Order.status, func.count())
        .join(Order, Order.id == PaymentInstruction.order_id)
        .where(PaymentInstruction.superseded_at.is_(None), Order.test.is_(False))
        .group_by(PaymentInstruction.kind, Order.status)
    ):
        out["ordergate_payment_instructions"].append(((str(kind), str(status)), count))
    return out


class BusinessGauges(Collector):
    """The last figures read, re-read when older than `refresh_seconds` (one reader at a time), so
    scrapes cost no aggregate over the order tables more than once per interval per process."""

    def __init__(self, refresh_seconds: float):
        self.refresh_seconds = refresh_seconds
        self.samples: Samples = {}
        self.read_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (help_text, labels) in FAMILIES.items():
            family = GaugeMetricFamily(name, help_text, labels=list(labels))
            for values, count in self.samples.get(name, []):
                family.add_metric(list(values), float(count))
            yield family

    def stale(self) -> bool:
        return self.read_at is None or (clock.now() - self.read_at).total_seconds() >= self.refresh_seconds

    async def render(self, maker: async_sessionmaker[AsyncSession]) -> bytes:
        if self.stale():
            async with self._lock:
                if self.stale():
                    async with maker() as session:
                        self.samples = await read_gauges(session)
                    self.read_at = clock.now()
        return generate_latest(self.registry)
