"""The catalog as configuration: products loaded from a store's TOML file, and written back to it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.catalog.models import Product
from ordergate.catalog.service import guarded_move
from ordergate.stores.models import Store
from ordergate.stores.schemas import ProductConfig

CONFIG_ACTOR = "store file"


async def apply_config_products(
    session: AsyncSession, store: Store, configs: Sequence[ProductConfig]
) -> None:
    """Create or update the file's products. Stock in the file is what is on the shelf now, never
    below what open orders hold; each change of it is a ledger row like any other."""
    existing = {
        p.sku: p for p in (await session.scalars(select(Product).where(Product.store_id == store.id))).all()
    }
    targets: list[tuple[Product, int]] = []
    for position, prc in enumerate(configs):
        product = existing.get(prc.sku)
        if product is None:
            product = Product(store_id=store.id, sku=prc.sku, reserved=0, on_hand=0)
            session.add(product)
        product.name, product.description, product.price = prc.name, prc.description, prc.price
        product.active, product.position = prc.status == "active", position
        product.image_url = prc.image_url
        product.low_stock_threshold = prc.low_stock_threshold
        targets.append((product, prc.stock))
    await session.flush()
    for product, stock in targets:
        target = max(stock, product.reserved or 0)
        if target == product.on_hand:
            continue
        # Compare-and-set on the level just read: a concurrent change makes this a no-op, not a lie.
        await guarded_move(
            session,
            update(Product)
            .where(Product.id == product.id, Product.on_hand == product.on_hand, Product.reserved <= target)
            .values(on_hand=target),
            kind="config",
            delta=target - product.on_hand,
            order_id=None,
            actor=CONFIG_ACTOR,
            reason="store file loaded",
        )
        await session.refresh(product)


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes; non-ASCII kept as it is).
    return json.dumps(value, ensure_ascii=False)


async def export_toml(session: AsyncSession, store: Store) -> str:
    """The store's products as `[[products]]` tables, to put in place of the file's own: loading
    the file again gives back this catalog, stock included."""
    rows = await session.scalars(
        select(Product).where(Product.store_id == store.id).order_by(Product.position, Product.id)
    )
    out = [
        f"# Products of {store.slug}: replace the [[products]] tables of the store's file with these.",
        "",
    ]
    for p in rows:
        out.append("[[products]]")
        out.append(f"sku = {_toml_string(p.sku)}")
        out.append(f"name = {_toml_string(p.name)}")
        if p.description:
            out.append(f"description = {_toml_string(p.description)}")
        out.append(f"price = {_toml_string(money.text(p.price, store.currency))}")
        out.append(f"stock = {p.on_hand}")
        if p.image_url:
            out.append(f"image_url = {_toml_string(p.image_url)}")
        if not p.active:
            out.append('status = "archived"')
        if p.low_stock_threshold is not None:
            out.append(f"low_stock_threshold = {p.low_stock_threshold}")
        out.append("")
    return "\n".join(out)
