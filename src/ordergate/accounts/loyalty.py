"""The loyalty ledger: points earned when an account's order completes, on what the buyer paid and
kept (the total less accepted refunds); a later refund takes back its share, a refund that fails
gives it back, and a cancelled or fully refunded order keeps none. Append-only; one entry of each
kind per order (earned, reversed, refund<n>), so a repeated event never counts twice.

Imports models only: orders/state.py calls in here on every move (see moves.py)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.accounts.models import LoyaltyEntry
from ordergate.orders.models import Order
from ordergate.orders.status import OrderStatus
from ordergate.sql import insert
from ordergate.stores.models import Store

EARNED, REVERSED, REFUND = "earned", "reversed", "refund"


def points_rule(store: Store) -> Decimal:
    """The store's points per unit of currency; anything unreadable or negative means none."""
    try:
        rule = Decimal(str(store.loyalty_points_per_unit or "0"))
    except InvalidOperation:
        return Decimal(0)
    return rule if rule.is_finite() and rule > 0 else Decimal(0)


def points_for(total: Decimal, rule: Decimal) -> int:
    """floor(order total x rule)."""
    return int((total * rule).to_integral_value(rounding=ROUND_FLOOR))


async def _append(
    session: AsyncSession, order: Order, *, account_id: int, kind: str, points: int, rule: str
) -> None:
    """One ledger entry for the order (a second of the same kind is dropped: at most once)."""
    values = {"account_id": account_id, "store_id": order.store_id, "order_id": order.id}
    await session.execute(
        insert(session, LoyaltyEntry)
        .values(created_at=clock.now(), kind=kind, points=points, rule=rule, **values)
        .on_conflict_do_nothing(index_elements=[LoyaltyEntry.order_id, LoyaltyEntry.kind])
    )


async def _entries(session: AsyncSession, order: Order) -> tuple[LoyaltyEntry | None, list[LoyaltyEntry]]:
    """The order's earned entry (None before it earned any) and all its entries."""
    entries = list(await session.scalars(select(LoyaltyEntry).where(LoyaltyEntry.order_id == order.id)))
    return next((e for e in entries if e.kind == EARNED), None), entries


async def credit_order(session: AsyncSession, order: Order, store: Store) -> None:
    """Points for a completed order of an account (at most once)."""
    if order.account_id is None or order.status != OrderStatus.COMPLETED:
        return
    rule = points_rule(store)
    points = points_for(max(order.total - order.refunded, Decimal(0)), rule)
    if points <= 0:
        return
    rule_text = str(store.loyalty_points_per_unit)
    await _append(session, order, account_id=order.account_id, kind=EARNED, points=points, rule=rule_text)


async def reverse_order(session: AsyncSession, order: Order) -> None:
    """Take back what a cancelled or fully refunded order still holds, if anything (at most once)."""
    earned, entries = await _entries(session, order)
    held = sum(e.points for e in entries)
    if earned is None or held == 0:
        return
    await _append(session, order, account_id=earned.account_id, kind=REVERSED, points=-held, rule=earned.rule)


async def follow_refunds(session: AsyncSession, order: Order) -> None:
    """The order's accepted refunds changed (`order.refunded`): its points become those of what the
    buyer paid and kept, under the rule they were earned with. Nothing before completion (the
    points earned then are on the net already), nothing once the order holds none."""
    if order.account_id is None or order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return
    earned, entries = await _entries(session, order)
    if earned is None or any(e.kind == REVERSED for e in entries):
        return
    try:
        rule = Decimal(earned.rule)
    except InvalidOperation:
        return
    target = points_for(max(order.total - order.refunded, Decimal(0)), rule)
    change = target - sum(e.points for e in entries)
    if change == 0:
        return
    kind = REVERSED if target == 0 else f"{REFUND}{len(entries)}"
    await _append(session, order, account_id=earned.account_id, kind=kind, points=change, rule=earned.rule)


async def balance(session: AsyncSession, *, account_id: int, store_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.account_id == account_id, LoyaltyEntry.store_id == store_id
        )
    )
    return int(total or 0)


async def ledger(
    session: AsyncSession, *, account_id: int, store_id: int, limit: int = 50
) -> list[tuple[LoyaltyEntry, str | None]]:
    """The latest entries with their order numbers, newest first."""
    rows = await session.execute(
        select(LoyaltyEntry, Order.number)
        .outerjoin(Order, Order.id == LoyaltyEntry.order_id)
        .where(LoyaltyEntry.account_id == account_id, LoyaltyEntry.store_id == store_id)
        .order_by(LoyaltyEntry.id.desc())
        .limit(limit)
    )
    return [(entry, number) for entry, number in rows]


async def points_by_order(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, int]:
    if not order_ids:
        return {}
    rows = await session.execute(
        select(LoyaltyEntry.order_id, func.sum(LoyaltyEntry.points))
        .where(LoyaltyEntry.order_id.in_(list(order_ids)))
        .group_by(LoyaltyEntry.order_id)
    )
    return {int(order_id): int(points or 0) for order_id, points in rows}
