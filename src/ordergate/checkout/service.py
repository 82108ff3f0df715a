"""Guest checkout sessions: open, update, view, quote, expire. Checkout ids are stored only hashed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, money, security
from ordergate.catalog.models import Product
from ordergate.catalog.service import products_by_sku
from ordergate.checkout import rows
from ordergate.checkout.models import Checkout
from ordergate.checkout.pricing import price_lines
from ordergate.checkout.schemas import (
    CheckoutIn,
    CheckoutLineOut,
    CheckoutOut,
    CheckoutPatch,
    ContactOut,
    DeliveryIn,
    ItemIn,
    PaymentOptionOut,
    QuoteLineOut,
    QuoteOut,
)
from ordergate.contact import ContactIn
from ordergate.errors import CheckoutPlaced, Conflict, FieldError, Unprocessable
from ordergate.orders.models import Order
from ordergate.payments.providers import provider_for
from ordergate.settings import Settings
from ordergate.sql import execute_counted
from ordergate.stores.models import Store
from ordergate.stores.service import ready_methods, required_delivery_fields

QUOTE_VALIDITY = timedelta(minutes=5)


def checkout_ttl(store: Store, settings: Settings) -> timedelta:
    return timedelta(seconds=store.checkout_ttl_seconds or settings.checkout_ttl_seconds)


def resume_url(settings: Settings, store: Store, checkout_id: str) -> str:
    return f"{settings.base_url.rstrip('/')}/s/{store.slug}/checkout/{checkout_id}"


def missing_fields(store: Store, checkout: Checkout) -> list[str]:
    missing = []
    if not checkout.items:
        missing.append("items")
    if not (checkout.email or checkout.phone):
        missing.append("contact")
    delivery = checkout.delivery or {}
    required = required_delivery_fields(store, delivery.get("country"))
    missing.extend(f"delivery.{name}" for name in required if not delivery.get(name))
    return missing


async def _cart(
    session: AsyncSession, store: Store, items: list[ItemIn]
) -> tuple[list[dict[str, object]], dict[str, Product]]:
    """Validated cart: every SKU known in this store, duplicates merged, the buyer's order kept;
    and its products as read (a view of the new cart prices with them, not with a second read)."""
    products = await products_by_sku(session, store, (i.sku for i in items))
    errors = [
        FieldError(f"items[{n}].sku", f"no product {item.sku!r} in this store")
        for n, item in enumerate(items)
        if item.sku not in products
    ]
    if errors:
        raise Unprocessable(errors[0].message, errors=errors)
    merged: dict[str, int] = {}
    for item in items:
        merged[item.sku] = merged.get(item.sku, 0) + item.quantity
    return [{"sku": sku, "quantity": quantity} for sku, quantity in merged.items()], products


def _note_funnel(checkout: Checkout, now: datetime) -> None:
    if checkout.contact_given_at is None and (checkout.email or checkout.phone):
        checkout.contact_given_at = now


def _apply_contact(checkout: Checkout, contact: ContactIn | None) -> None:
    if contact is None:
        checkout.email = checkout.phone = None
        return
    if "email" in contact.model_fields_set:
        checkout.email = contact.email
    if "phone" in contact.model_fields_set:
        checkout.phone = contact.phone


def _apply_delivery(checkout: Checkout, delivery: DeliveryIn | None) -> None:
    if delivery is None:
        checkout.delivery = None
        return
    merged = dict(checkout.delivery or {})
    for name in delivery.model_fields_set:
        value = getattr(delivery, name)
        if value:
            merged[name] = value
        else:
            merged.pop(name, None)
    checkout.delivery = merged or None


class Opened(NamedTuple):
    """A new checkout: its id (shown once to the buyer, stored only hashed), the row, and the
    products read to check its cart (a view of it is priced with them, not with a second read)."""

    id: str
    checkout: Checkout
    products: dict[str, Product]


async def open_and_view(
    session: AsyncSession,
    store: Store,
    data: CheckoutIn,
    *,
    settings: Settings,
    prepared_by: str | None = None,
) -> CheckoutOut:
    """A new guest checkout as the buyer sees it."""
    opened = await open_checkout(session, store, data, settings=settings, prepared_by=prepared_by)
    return await checkout_view(
        session, store, opened.id, opened.checkout, settings=settings, products=opened.products
    )


async def open_checkout(
    session: AsyncSession,
    store: Store,
    data: CheckoutIn,
    *,
    settings: Settings,
    prepared_by: str | None = None,
    account_id: int | None = None,
) -> Opened:
    checkout_id = security.new_token()
    now = clock.now()
    items, products = await _cart(session, store, data.items)
    checkout = Checkout(
        id_hash=security.hash_token(checkout_id),
        store_id=store.id,
        status="open",
        items=items,
        email=None,
        phone=None,
        delivery=None,
        prepared_by=prepared_by,
        account_id=account_id,
        order_id=None,
        created_at=now,
        updated_at=now,
        expires_at=now + checkout_ttl(store, settings),
        contact_given_at=None,
        quoted_at=None,
    )
    if data.contact is not None:
        _apply_contact(checkout, data.contact)
    if data.delivery is not None:
        _apply_delivery(checkout, data.delivery)
    _note_funnel(checkout, now)
    await rows.insert(session, checkout)
    return Opened(checkout_id, checkout, products)


async def read_checkout(
    session: AsyncSession, store: Store, checkout_id: str, *, settings: Settings
) -> CheckoutOut:
    """A checkout read by its id: while it is one. Once it is an order, 410: the id no longer
    reads the buyer's details, nor leads to the order."""
    checkout = await rows.find_checkout(session, store, checkout_id)
    if checkout.status == "completed":
        raise CheckoutPlaced(
            "This checkout is now an order: follow it with its tracking link", field="checkout"
        )
    return await checkout_view(session, store, checkout_id, checkout, settings=settings)


async def update_checkout(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    patch: CheckoutPatch,
    *,
    settings: Settings,
    account_id: int | None = None,
) -> Checkout:
    checkout = await rows.find_checkout(session, store, checkout_id, lock=True, account_id=account_id)
    if checkout.status != "open":
        raise Conflict("This checkout is already an order and can no longer change", field="checkout")
    fields = patch.model_fields_set
    if "items" in fields:
        if patch.items is None:
            raise Unprocessable("A checkout needs at least one item", field="items")
        checkout.items, _ = await _cart(session, store, patch.items)
    if "contact" in fields:
        _apply_contact(checkout, patch.contact)
    if "delivery" in fields:
        _apply_delivery(checkout, patch.delivery)
    now = clock.now()
    checkout.updated_at = now
    checkout.expires_at = now + checkout_ttl(store, settings)
    _note_funnel(checkout, now)
    await rows.save_changes(session, checkout)
    return checkout


async def checkout_view(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    checkout: Checkout,
    *,
    settings: Settings,
    order_number: str | None = None,
    products: Mapping[str, Product] | None = None,
) -> CheckoutOut:
    """What the buyer sees of a checkout; `products` when the caller has just read its cart's."""
    if products is None:
        products = await products_by_sku(session, store, (str(i["sku"]) for i in checkout.items))
    lines, totals = price_lines(store, checkout.items, products)
    completed = checkout.status == "completed"
    if completed and order_number is None:
        order_number = await session.scalar(select(Order.number).where(Order.id == checkout.order_id))
    return CheckoutOut(
        id=checkout_id,
        store=store.slug,
        status=checkout.status,
        expires_at=checkout.expires_at,
        resume_url=resume_url(settings, store, checkout_id),
        items=[
            CheckoutLineOut(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=money.text(line.unit_price, store.currency),
                line_total=money.text(line.line_total, store.currency),
                available=line.product.available_quantity >= line.quantity,
            )
            for line in lines
        ],
        # Once it is an order, the checkout id reads none of the buyer's details (the order has them).
        contact=ContactOut(email=checkout.email, phone=checkout.phone)
        if (checkout.email or checkout.phone) and not completed
        else None,
        delivery=None if completed else checkout.delivery,
        totals=totals.out(),
        missing=[] if completed else missing_fields(store, checkout),
        order_number=order_number,
        tracking_url=None,
        prepared_by=checkout.prepared_by,
    )


async def quote(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    *,
    settings: Settings,
    account_id: int | None = None,
) -> QuoteOut:
    """Advisory prices and availability; reserves nothing."""
    checkout = await rows.stamp_quoted(session, store, checkout_id, account_id)
    products = await products_by_sku(session, store, (str(i["sku"]) for i in checkout.items))
    lines, totals = price_lines(store, checkout.items, products)
    options = []
    for method in ready_methods(store, settings=settings):
        provider = provider_for(method)
        options.append(
            PaymentOptionOut(
                method=method.key,
                asset=provider.asset(method, store.currency),
                amount=format(provider.quote(method, totals.total, store.currency), "f"),
            )
        )
    return QuoteOut(
        valid_until=min(clock.now() + QUOTE_VALIDITY, checkout.expires_at),
        lines=[
            QuoteLineOut(
                sku=line.sku,
                requested=line.quantity,
                available=line.product.available_quantity >= line.quantity,
                available_quantity=line.product.available_quantity,
                unit_price=money.text(line.unit_price, store.currency),
            )
            for line in lines
        ],
        totals=totals.out(),
        payment_options=options,
    )


async def sweep_expired_checkouts(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Expire open checkouts past their time and drop the personal data they held; completed ones
    drop theirs too (their order keeps its own copy). Returns the checkouts expired."""
    expired = await execute_counted(
        session,
        update(Checkout)
        .where(Checkout.status == "open", Checkout.expires_at <= (now or clock.now()))
        .values(status="expired", email=None, phone=None, delivery=None),
    )
    await execute_counted(
        session,
        update(Checkout)
        .where(
            Checkout.status == "completed",
            or_(Checkout.email.is_not(None), Checkout.phone.is_not(None), Checkout.delivery.is_not(None)),
        )
        # SQL NULL, not JSON null: a swept row no longer matches `delivery IS NOT NULL`.
        .values(email=None, phone=None, delivery=null()),
    )
    return expired
