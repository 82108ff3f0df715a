"""Products and stock: reservations are single guarded UPDATEs, never read-then-write."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.catalog.models import Product
from ordergate.catalog.schemas import ProductList, ProductOut
from ordergate.errors import OutOfStock
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
                # The column arrives with the catalog admin (0017_catalog_admin); none before it.
                image_url=getattr(p, "image_url", "") or "",
            )
            for p in rows
        ]
    )


async def products_by_sku(session: AsyncSession, store: Store, skus: Iterable[str]) -> dict[str, Product]:
    wanted = set(skus)
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Product).where(Product.store_id == store.id, Product.sku.in_(wanted), Product.active)
    )
    return {p.sku: p for p in rows}


async def reserve_stock(session: AsyncSession, *, product_id: int, sku: str, quantity: int) -> None:
    """Hold `quantity` for an order; the WHERE clause is the stock check, so two buyers can't both win."""
    changed = await execute_counted(
        session,
        update(Product)
        .where(Product.id == product_id, Product.on_hand - Product.reserved >= quantity)
        .values(reserved=Product.reserved + quantity),
    )
    if changed != 1:
        raise OutOfStock(f"Not enough stock of {sku}", field="items")


async def release_stock(session: AsyncSession, *, product_id: int, quantity: int) -> None:
    """An unpaid order gives its hold back."""
    await execute_counted(
        session,
        update(Product)
        .where(Product.id == product_id, Product.reserved >= quantity)
        .values(reserved=Product.reserved - quantity),
    )


async def commit_stock(session: AsyncSession, *, product_id: int, quantity: int) -> None:
    """A paid order takes its held units off the shelf."""
    await execute_counted(
        session,
        update(Product)
        .where(Product.id == product_id, Product.reserved >= quantity)
        .values(reserved=Product.reserved - quantity, on_hand=Product.on_hand - quantity),
    )


async def return_stock(session: AsyncSession, *, product_id: int, quantity: int) -> None:
    """A cancelled paid order puts its units back on the shelf."""
    await execute_counted(
        session, update(Product).where(Product.id == product_id).values(on_hand=Product.on_hand + quantity)
    )
