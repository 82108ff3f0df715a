"""Products and stock: reservations are single guarded UPDATEs, never read-then-write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, money
from ordergate.catalog.models import Product, StockMovement
from ordergate.catalog.schemas import ProductList, ProductOut
from ordergate.errors import NotAvailable, OutOfStock
from ordergate.sql import execute_counted
from ordergate.stores.models import Store


async def list_products(session: AsyncSession, store: Store) -> ProductList:
    rows = await session.scalars(
        select(Product)
        .where(Product.store_id == store.id, Product.active)
        .order_by(Product.position, Product.id)
    )
    return ProductList(
        items=[
            ProductOut(
                sku=p.sku,
                name=p.name,
                description=p.description,
                price=money.text(p.price, store.currency),
                currency=store.currency,
                available=p.available_quantity > 0,
                available_quantity=p.available_quantity,
                image_url=p.image_url,
            )
            for p in rows
        ]
    )


_PRODUCTS = cast(Table, Product.__table__).c
_ACTIVE_BY_SKU = select(*_PRODUCTS).where(
    _PRODUCTS.store_id == bindparam("store_id"),
    _PRODUCTS.sku.in_(bindparam("skus", expanding=True)),
    _PRODUCTS.active,
)


async def products_by_sku(session: AsyncSession, store: Store, skus: Iterable[str]) -> dict[str, Product]:
    """The store's active products among `skus`, read with Core: they come back detached, to read
    (prices, names, stock as it was read); stock changes go through the guarded UPDATEs below."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = await (await session.connection()).execute(_ACTIVE_BY_SKU, {"store_id": store.id, "skus": wanted})
    return {row.sku: Product(**row._mapping) for row in rows}


async def guarded_move(
    session: AsyncSession,
    stmt: Update,
    *,
    kind: str,
    delta: int,
    reserved_delta: int = 0,
    order_id: int | None,
    actor: str,
    reason: str = "",
) -> bool:
    """Run one guarded UPDATE and, when it changed the row, write its ledger row in the same
    transaction. RETURNING gives the level after the change without reading first."""
    result = await session.execute(
        stmt.returning(Product.id, Product.store_id, Product.on_hand).execution_options(
            synchronize_session=False
        )
    )
    row = result.first()
    if row is None:
        return False
    await session.execute(
        insert(StockMovement).values(
            store_id=row.store_id,
            product_id=row.id,
            kind=kind,
            delta=delta,
            reserved_delta=reserved_delta,
            on_hand_after=row.on_hand,
            reason=reason[:500],
            actor=actor[:64],
            order_id=order_id,
            created_at=clock.now(),
        )
    )
    return True


async def reserve_stock(
    session: AsyncSession, *, product_id: int, sku: str, quantity: int, order_id: int | None = None
) -> None:
    """Hold `quantity` for an order; the WHERE clause is the stock check, so two buyers can't both win.
    Placement holds are not written to the ledger (the order itself is the record, and placement
    is the hot path); a hold taken again by a refreshed order (`order_id` given) is."""
    stmt = (
        update(Product)
        .where(Product.id == product_id, Product.on_hand - Product.reserved >= quantity)
        .values(reserved=Product.reserved + quantity)
    )
    if order_id is None:
        changed = await execute_counted(session, stmt) == 1
    else:
        changed = await guarded_move(
            session,
            stmt,
            kind="order_reserved",
            delta=0,
            reserved_delta=quantity,
            order_id=order_id,
            actor="buyer",
            reason="payment instruction refreshed",
        )
    if not changed:
        raise OutOfStock(f"Not enough stock of {sku}", field="items")


async def reserve_items(
    session: AsyncSession, store: Store, items: Iterable[dict[str, object]]
) -> dict[str, Product]:
    """Hold each item's quantity with one guarded UPDATE ... RETURNING per item (the stock check is
    its WHERE clause); returns the products so held, by SKU. A SKU no longer sold answers 409
    NotAvailable, one short of stock 409 OutOfStock (the transaction then undoes every hold)."""
    held: dict[str, Product] = {}
    conn = await session.connection()
    # Product rows are locked in one order (SKU, unique in a store) by every writer (order moves
    # too): no two transactions wait on each other's products (PostgreSQL deadlocks).
    for item in sorted(items, key=lambda item: str(item["sku"])):
        sku, quantity = str(item["sku"]), int(str(item["quantity"]))
        # A Core statement (no identity map): the row comes back as a detached Product to price.
        row = (
            await conn.execute(_RESERVE, {"in_store": store.id, "of_sku": sku, "wanted": quantity})
        ).first()
        if row is None:
            if sku not in await products_by_sku(session, store, [sku]):
                raise NotAvailable(f"No longer sold: {sku}", field="items")
            raise OutOfStock(f"Not enough stock of {sku}", field="items")
        held[sku] = Product(**row._mapping)
    return held


# Built once: its compiled form is cached by SQLAlchemy under one key (parameter names are no
# column's, or Core would read them as more values to SET).
_RESERVE = (
    update(cast(Table, Product.__table__))
    .where(
        _PRODUCTS.store_id == bindparam("in_store"),
        _PRODUCTS.sku == bindparam("of_sku"),
        _PRODUCTS.active,
        _PRODUCTS.on_hand - _PRODUCTS.reserved >= bindparam("wanted"),
    )
    .values(reserved=_PRODUCTS.reserved + bindparam("wanted"))
    .returning(*_PRODUCTS)
)


async def release_stock(
    session: AsyncSession, *, product_id: int, quantity: int, order_id: int | None = None, reason: str = ""
) -> None:
    """An unpaid order gives its hold back (expiry, cancellation): reserved changes, on hand does not."""
    await guarded_move(
        session,
        update(Product)
        .where(Product.id == product_id, Product.reserved >= quantity)
        .values(reserved=Product.reserved - quantity),
        kind="order_released",
        delta=0,
        reserved_delta=-quantity,
        order_id=order_id,
        actor="system",
        reason=reason,
    )


async def commit_stock(
    session: AsyncSession, *, product_id: int, quantity: int, order_id: int | None = None
) -> None:
    """A paid order takes its held units off the shelf."""
    await guarded_move(
        session,
        update(Product)
        .where(Product.id == product_id, Product.reserved >= quantity)
        .values(reserved=Product.reserved - quantity, on_hand=Product.on_hand - quantity),
        kind="order_funded",
        delta=-quantity,
        reserved_delta=-quantity,
        order_id=order_id,
        actor="system",
        reason="order paid",
    )


async def return_stock(
    session: AsyncSession,
    *,
    product_id: int,
    quantity: int,
    order_id: int | None = None,
    kind: str = "order_returned",
    actor: str = "system",
    reason: str = "paid order cancelled",
) -> None:
    """Units go back on the shelf: a cancelled paid order, a refund with restock."""
    await guarded_move(
        session,
        update(Product).where(Product.id == product_id).values(on_hand=Product.on_hand + quantity),
        kind=kind,
        delta=quantity,
        order_id=order_id,
        actor=actor,
        reason=reason,
    )
