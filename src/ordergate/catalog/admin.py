"""The operator's catalog: creating, editing, archiving and restoring products, and their stock
with its ledger. Every on-hand change is one guarded UPDATE plus its ledger row."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ColumnElement, column, func, or_, select, table, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.audit.service import Actor
from ordergate.catalog.admin_schemas import (
    AdminProductList,
    AdminProductOut,
    MovementList,
    MovementOut,
    ProductIn,
    ProductPatch,
    StockIn,
)
from ordergate.catalog.models import Product, StockMovement
from ordergate.catalog.service import guarded_move, return_stock
from ordergate.errors import Conflict, NotFound, Unprocessable
from ordergate.stores.models import Store

DEFAULT_LOW_STOCK = 5  # available units at or below which a product without its own threshold is low
MAX_QUERY = 100
# The order numbers shown beside ledger rows, read without importing orders/ (catalog sits below it).
ORDERS = table("orders", column("id"), column("number"))


class StockConflict(Conflict):
    type, title = "stock-conflict", "On-hand stock cannot fall below what open orders hold"


class SkuTaken(Conflict):
    type, title = "sku-taken", "A product with this SKU exists"


def threshold_of(product: Product) -> int:
    return DEFAULT_LOW_STOCK if product.low_stock_threshold is None else product.low_stock_threshold


def product_view(product: Product, store: Store) -> AdminProductOut:
    available = product.available_quantity
    return AdminProductOut(
        sku=product.sku,
        name=product.name,
        description=product.description,
        price=money.text(product.price, store.currency),
        currency=store.currency,
        image_url=product.image_url or "",
        status="active" if product.active else "archived",
        on_hand=product.on_hand,
        reserved=product.reserved,
        available=available,
        low_stock_threshold=product.low_stock_threshold,
        low_stock=product.active and available <= threshold_of(product),
    )


def checked_price(price: Decimal, store: Store) -> Decimal:
    if money.quantize(price, store.currency) != price:
        raise Unprocessable(
            f"{store.currency} prices have at most {money.exponent(store.currency)} decimals", field="price"
        )
    return price


def _low_clause() -> ColumnElement[bool]:
    threshold = func.coalesce(Product.low_stock_threshold, DEFAULT_LOW_STOCK)
    return Product.on_hand - Product.reserved <= threshold


async def list_admin_products(
    session: AsyncSession,
    store: Store,
    *,
    status: str | None = None,
    q: str | None = None,
    low: bool = False,
) -> AdminProductList:
    """Every product of the store (archived too unless `status` says), filtered by words in the SKU
    or name; `low` keeps the active ones at or below their low-stock threshold, lowest first."""
    stmt = select(Product).where(Product.store_id == store.id)
    if status not in (None, "", "active", "archived"):
        raise Unprocessable("status must be active or archived", field="status")
    if status:
        stmt = stmt.where(Product.active.is_(status == "active"))
    text = (q or "").strip()
    if len(text) > MAX_QUERY or "\x00" in text:
        raise Unprocessable(f"q is at most {MAX_QUERY} characters of text", field="q")
    if text:
        like = text.lower()
        stmt = stmt.where(
            or_(
                func.lower(Product.sku).contains(like, autoescape=True),
                func.lower(Product.name).contains(like, autoescape=True),
            )
        )
    if low:
        stmt = stmt.where(Product.active, _low_clause()).order_by(Product.on_hand - Product.reserved)
    rows = await session.scalars(stmt.order_by(Product.position, Product.id))
    return AdminProductList(items=[product_view(p, store) for p in rows])


async def get_product(session: AsyncSession, store: Store, sku: str, *, lock: bool = False) -> Product:
    stmt = select(Product).where(Product.store_id == store.id, Product.sku == sku.strip())
    if lock:
        stmt = stmt.with_for_update()
    product = await session.scalar(stmt)
    if product is None:
        raise NotFound(f"No product {sku!r} in this store", field="sku")
    return product


async def create_product(session: AsyncSession, store: Store, data: ProductIn, *, actor: Actor) -> Product:
    price = checked_price(data.price, store)
    taken = await session.scalar(
        select(Product.id).where(Product.store_id == store.id, Product.sku == data.sku)
    )
    if taken is not None:
        raise SkuTaken(f"A product with SKU {data.sku} exists", field="sku")
    last = await session.scalar(select(func.max(Product.position)).where(Product.store_id == store.id))
    product = Product(
        store_id=store.id,
        sku=data.sku,
        name=data.name,
        description=data.description,
        price=price,
        image_url=data.image_url,
        on_hand=0,
        reserved=0,
        active=data.status == "active",
        position=(last or 0) + 1,
        low_stock_threshold=data.low_stock_threshold,
    )
    try:
        async with session.begin_nested():  # the same SKU created at the same moment: one wins
            session.add(product)
            await session.flush()
    except IntegrityError:
        raise SkuTaken(f"A product with SKU {data.sku} exists", field="sku") from None
    if data.on_hand:
        await change_stock(
            session,
            store,
            product,
            delta=data.on_hand,
            kind="import",
            reason="opening stock",
            actor=actor.label,
        )
    await actor.record(
        session,
        store_id=store.id,
        action="product.create",
        target=product.sku,
        detail=data.model_dump(mode="json"),
    )
    return product


def apply_patch(product: Product, store: Store, data: ProductPatch) -> bool:
    """Copy the given fields onto `product`; True when anything changed."""
    before = (product.name, product.price, product.description, product.image_url, product.active)
    before_threshold = product.low_stock_threshold
    if data.name is not None:
        product.name = data.name
    if data.price is not None:
        product.price = checked_price(data.price, store)
    if data.description is not None:
        product.description = data.description
    if data.image_url is not None:
        product.image_url = data.image_url
    if data.status is not None:
        product.active = data.status == "active"
    if "low_stock_threshold" in data.model_fields_set:
        product.low_stock_threshold = data.low_stock_threshold
    after = (product.name, product.price, product.description, product.image_url, product.active)
    return before != after or before_threshold != product.low_stock_threshold


async def update_product(
    session: AsyncSession, store: Store, sku: str, data: ProductPatch, *, actor: Actor
) -> Product:
    """Edit a product. Archiving takes it off sale; orders already placed keep their lines and
    prices (lines copy them), and their holds stay until paid, expired or cancelled."""
    product = await get_product(session, store, sku, lock=True)
    if apply_patch(product, store, data):
        await session.flush()
        await actor.record(
            session, store_id=store.id, action=_edit_action(data), target=product.sku, detail=_changes(data)
        )
    return product


def _edit_action(data: ProductPatch) -> str:
    if data.model_fields_set == {"status"}:
        return "product.archive" if data.status == "archived" else "product.restore"
    return "product.edit"


def _changes(data: ProductPatch) -> dict[str, object]:
    return data.model_dump(mode="json", exclude_unset=True)


async def change_stock(
    session: AsyncSession,
    store: Store,
    product: Product,
    *,
    delta: int,
    kind: str,
    reason: str,
    actor: str,
    field: str = "delta",
) -> Product:
    """Add `delta` (negative: remove) to on-hand in one guarded UPDATE: refused with 409 when the
    shelf would hold less than open orders have reserved."""
    changed = await guarded_move(
        session,
        update(Product)
        .where(
            Product.id == product.id,
            Product.on_hand + delta >= Product.reserved,
            Product.on_hand + delta >= 0,
        )
        .values(on_hand=Product.on_hand + delta),
        kind=kind,
        delta=delta,
        order_id=None,
        actor=actor,
        reason=reason,
    )
    await session.refresh(product)
    if not changed:
        raise StockConflict(
            f"{product.sku} has {product.on_hand} on hand and {product.reserved} reserved by open orders: "
            f"on hand cannot go below {product.reserved}",
            field=field,
        )
    return product


async def set_stock(
    session: AsyncSession, store: Store, sku: str, data: StockIn, *, actor: Actor, kind: str = "adjustment"
) -> Product:
    """The operator's stock change: a delta, or the counted on-hand (the row is locked while the
    difference is worked out, so a count is never applied over a change it did not see)."""
    product = await get_product(session, store, sku, lock=data.on_hand is not None)
    field = "on_hand" if data.on_hand is not None else "delta"
    delta = data.on_hand - product.on_hand if data.on_hand is not None else data.delta
    assert delta is not None
    if delta == 0 and data.on_hand is not None:
        return product
    before = product.on_hand
    await change_stock(
        session, store, product, delta=delta, kind=kind, reason=data.reason, actor=actor.label, field=field
    )
    detail = {
        "kind": kind,
        "delta": delta,
        "on_hand_before": before,
        "on_hand": product.on_hand,
        "reason": data.reason,
    }
    await actor.record(session, store_id=store.id, action="stock.change", target=product.sku, detail=detail)
    return product


async def movements(session: AsyncSession, store: Store, sku: str, *, limit: int = 200) -> MovementList:
    """The product's ledger, newest first."""
    product = await get_product(session, store, sku)
    rows = await session.execute(
        select(StockMovement, ORDERS.c.number)
        .outerjoin(ORDERS, ORDERS.c.id == StockMovement.order_id)
        .where(StockMovement.product_id == product.id)
        .order_by(StockMovement.id.desc())
        .limit(limit)
    )
    return MovementList(
        sku=product.sku,
        movements=[
            MovementOut(
                delta=m.delta,
                on_hand_after=m.on_hand_after,
                reserved_delta=m.reserved_delta,
                kind=m.kind,
                reason=m.reason or m.kind.replace("_", " "),
                actor=m.actor,
                at=m.created_at,
                order=number,
            )
            for m, number in rows
        ],
    )


async def restock_line(
    session: AsyncSession, *, product_id: int, quantity: int, order_id: int, actor: str, reason: str
) -> None:
    """Units of a refunded line back on the shelf (payments/refunds calls this)."""
    await return_stock(
        session,
        product_id=product_id,
        quantity=quantity,
        order_id=order_id,
        kind="refund_restock",
        actor=actor,
        reason=reason,
    )
