"""The console's home figures: today's orders and revenue, what waits for payment or for the operator,
low stock, and the last week's funnel in small. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.analytics.schemas import ChannelFunnelOut
from ordergate.analytics.service import funnel_report
from ordergate.catalog.admin import list_admin_products
from ordergate.catalog.admin_schemas import AdminProductOut
from ordergate.orders.models import Order
from ordergate.orders.status import PAID_STATUSES, OrderStatus
from ordergate.stores.models import Store

LOW_SHOWN = 8


@dataclass(frozen=True)
class Dashboard:
    day_start: datetime
    orders_today: int
    revenue_today: Decimal
    paid_today: int
    awaiting_payment: int
    to_ship: int
    attention: int
    low_stock: list[AdminProductOut]
    low_stock_total: int
    funnel: list[ChannelFunnelOut]


async def dashboard(session: AsyncSession, store: Store) -> Dashboard:
    now = clock.now()
    day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    # A channel's test orders (Shopify's `"test": true`) are listed, marked, but count in no figure.
    mine = and_(Order.store_id == store.id, Order.test.is_(False))
    today = (
        await session.execute(
            select(
                func.count(Order.id),
                func.count(Order.id).filter(Order.status.in_(PAID_STATUSES)),
            ).where(mine, Order.created_at >= day_start)
        )
    ).one()
    # Summed in Python: MoneyType is text on SQLite, so SUM() there would be a float. Revenue is what
    # paid orders took (refunds are shown on each order, not netted here).
    totals = await session.scalars(
        select(Order.total).where(mine, Order.created_at >= day_start, Order.status.in_(PAID_STATUSES))
    )
    revenue = sum(totals, Decimal(0))
    by_status = dict(
        (
            await session.execute(
                select(Order.status, func.count(Order.id))
                .where(mine, Order.status.in_((OrderStatus.AWAITING_PAYMENT, OrderStatus.FUNDED)))
                .group_by(Order.status)
            )
        ).all()
    )
    attention = await session.scalar(select(func.count(Order.id)).where(mine, Order.needs_attention))
    low = (await list_admin_products(session, store, low=True)).items
    report = await funnel_report(session, store, since=now - timedelta(days=7), until=now)
    return Dashboard(
        day_start=day_start,
        orders_today=int(today[0] or 0),
        revenue_today=revenue,
        paid_today=int(today[1] or 0),
        awaiting_payment=int(by_status.get(OrderStatus.AWAITING_PAYMENT, 0)),
        to_ship=int(by_status.get(OrderStatus.FUNDED, 0)),
        attention=int(attention or 0),
        low_stock=low[:LOW_SHOWN],
        low_stock_total=len(low),
        funnel=report.channels,
    )
