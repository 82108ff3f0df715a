"""Keeping bought-together counts in step with orders: the worker folds the order event log in.

An order counts while it stands for goods a buyer committed to: placed (awaiting payment) or paid
(funded, shipped, completed). It stops counting when it expires, is cancelled or refunded, and counts
again when an expired order is refreshed. Every status move is already an `order_events` row written
in the order's own transaction, so the worker reads those rows after a cursor and adds +1 or -1 to
each pair of the order's products: order placement pays nothing for it (no statement, no lock), and
every path that moves an order (checkout, operator, expiry, payments, channel intake) is covered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.orders.models import OrderEvent, OrderLine
from ordergate.orders.status import PAID_STATUSES, OrderStatus
from ordergate.recommendations.models import FoldCursor, ProductPair
from ordergate.sql import insert

# Placed or paid. The event log holds plain strings, which equal (and hash as) these StrEnum members.
COUNTED = frozenset({OrderStatus.AWAITING_PAYMENT, *PAID_STATUSES})
# A basket this large (a wholesale order, an import) says little about what goes together, and would
# cost its size squared in rows: only its single products are counted.
MAX_BASKET = 25
# Event ids are taken when a row is inserted but seen when its transaction commits, so a later id can
# be visible before an earlier one. Only events older than any transaction runs are folded: the
# cursor then never passes an id that is still to appear.
SETTLE = timedelta(seconds=30)
BATCH = 5000
ROWS_PER_STATEMENT = 3000  # 3 parameters a row: well under SQLite's 32,766 and asyncpg's 32,767


def basket_pairs(product_ids: Iterable[int | None]) -> list[tuple[int, int]]:
    """Every (a, b) pair a basket counts in, both ways round and the diagonal (how many orders held
    a), in key order so concurrent writers take row locks in the same order."""
    ids = sorted({p for p in product_ids if p is not None})
    if len(ids) > MAX_BASKET:
        return [(a, a) for a in ids]
    return [(a, b) for a in ids for b in ids]


def crossing(from_status: str | None, to_status: str | None) -> int:
    """+1 when a move makes an order count, -1 when it stops counting, else 0."""
    before, after = from_status in COUNTED, to_status in COUNTED
    return 0 if before == after else (1 if after else -1)


async def add_to_pairs(session: AsyncSession, deltas: Counter[tuple[int, int]]) -> None:
    """Add each delta to its pair's count, creating missing rows: one upsert per 3,000 pairs."""
    rows = [{"product_id": a, "other_id": b, "orders": d} for (a, b), d in sorted(deltas.items()) if d]
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        stmt = insert(session, ProductPair).values(rows[start : start + ROWS_PER_STATEMENT])
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[ProductPair.product_id, ProductPair.other_id],
                set_={"orders": ProductPair.orders + stmt.excluded.orders},
            )
        )


async def fold_order_events(session: AsyncSession, *, now: datetime | None = None, batch: int = BATCH) -> int:
    """Fold settled status events after the cursor into product_pairs and move the cursor, in the
    caller's transaction (the cursor row is locked: two workers take turns). Returns how many
    events were read; the worker calls again while a full batch comes back."""
    cursor = await session.scalar(select(FoldCursor).where(FoldCursor.id == 1).with_for_update())
    if cursor is None:
        cursor = FoldCursor(id=1, last_event_id=0)
        session.add(cursor)
    settled = (now or clock.now()) - SETTLE
    read = (
        await session.execute(
            select(
                OrderEvent.id,
                OrderEvent.order_id,
                OrderEvent.from_status,
                OrderEvent.to_status,
                OrderEvent.created_at,
            )
            .where(OrderEvent.id > cursor.last_event_id, OrderEvent.type == "status")
            .order_by(OrderEvent.id)
            .limit(batch)
        )
    ).all()
    events = []
    for event in read:  # the settled prefix only: the cursor must not pass an unsettled event
        if event.created_at > settled:
            break
        events.append(event)
    if not events:
        return 0
    signs: Counter[int] = Counter()
    for _id, order_id, from_status, to_status, _at in events:
        signs[order_id] += crossing(from_status, to_status)
    moved = [order_id for order_id, sign in signs.items() if sign]
    baskets: dict[int, list[int | None]] = {order_id: [] for order_id in moved}
    if moved:
        lines = await session.execute(
            select(OrderLine.order_id, OrderLine.product_id).where(OrderLine.order_id.in_(moved))
        )
        for order_id, product_id in lines:
            baskets[order_id].append(product_id)
    deltas: Counter[tuple[int, int]] = Counter()
    for order_id, products in baskets.items():
        for pair in basket_pairs(products):
            deltas[pair] += signs[order_id]
    await add_to_pairs(session, deltas)
    cursor.last_event_id = events[-1][0]
    await session.flush()
    return len(events)
