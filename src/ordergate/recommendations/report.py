"""The suggestions' part of the funnel: how often an "Add" ended up in an order, and what those
orders were worth beside the rest. Joins on the checkout's hash: no id, token or contact is read."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.orders.models import Order, OrderLine
from ordergate.recommendations.models import SuggestionAdd
from ordergate.recommendations.schemas import SuggestionFunnelOut
from ordergate.stores.models import Store


def _average(totals: list[Decimal], currency: str) -> str | None:
    return money.text(sum(totals, Decimal(0)) / len(totals), currency) if totals else None


async def suggestion_funnel(
    session: AsyncSession, store: Store, *, sources: list[str], since: datetime, until: datetime
) -> SuggestionFunnelOut:
    added, checkouts = (
        await session.execute(
            select(func.count(), func.count(func.distinct(SuggestionAdd.checkout_hash))).where(
                SuggestionAdd.store_id == store.id,
                SuggestionAdd.created_at >= since,
                SuggestionAdd.created_at < until,
            )
        )
    ).one()
    kept = exists().where(
        SuggestionAdd.checkout_hash == Order.checkout_hash,
        OrderLine.order_id == Order.id,
        OrderLine.sku == SuggestionAdd.sku,
    )
    with_added: list[Decimal] = []
    without: list[Decimal] = []
    rows = await session.execute(
        select(Order.total, kept).where(
            Order.store_id == store.id,
            Order.source.in_(sources),
            Order.created_at >= since,
            Order.created_at < until,
        )
    )
    for total, has_added in rows:
        (with_added if has_added else without).append(total)
    orders = len(with_added) + len(without)
    return SuggestionFunnelOut(
        added=int(added),
        checkouts_with_added=int(checkouts),
        orders_with_added=len(with_added),
        attach_rate=round(len(with_added) / orders, 4) if orders else None,
        average_order_value_with=_average(with_added, store.currency),
        average_order_value_without=_average(without, store.currency),
    )
