"""Completing a checkout: its checks, stock reservation, the order and its instruction, in one transaction."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import security
from ordergate.catalog.service import reserve_items
from ordergate.checkout.models import Checkout
from ordergate.checkout.pricing import price_lines
from ordergate.checkout.rows import close_checkout, lock_checkout
from ordergate.checkout.service import missing_fields
from ordergate.errors import (
    Conflict,
    FieldError,
    IdempotencyConflict,
    NotAvailable,
    Unprocessable,
)
from ordergate.notifications.service import order_confirmation, seal_order_link
from ordergate.orders.models import Order, OrderLine
from ordergate.orders.place import insert_order, new_order
from ordergate.orders.schemas import OrderIn
from ordergate.orders.service import tracking_document
from ordergate.orders.status import OrderStatus
from ordergate.payments.service import draft_instruction, find_method
from ordergate.settings import Settings
from ordergate.sql import Write
from ordergate.stores.models import PaymentMethod, Store
from ordergate.stores.service import guest_checkout, ready_methods, require_ready


def request_fingerprint(checkout_id: str, data: OrderIn) -> str:
    canonical = {
        "checkout": security.hash_token(checkout_id),
        "payment_method": data.payment_method,
        "accepted_policies": sorted(set(data.accepted_policies)),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _policy_errors(store: Store, accepted: list[str]) -> list[FieldError]:
    given = set(accepted)
    errors = []
    for policy in store.policies:
        wanted = f"{policy.key}@{policy.version}"
        if wanted in given:
            continue
        other = next((a for a in given if a.split("@", 1)[0] == policy.key), None)
        message = (
            f"{policy.title} is now version {policy.version}; accept {wanted}"
            if other
            else f"accept {policy.title} ({wanted}) to place the order"
        )
        errors.append(FieldError("accepted_policies", message))
    return errors


async def _earlier_order(
    session: AsyncSession, store: Store, *, checkout_hash: str, idempotency_key: str | None, fingerprint: str
) -> Order | None:
    """The order a completed checkout made, unless this key was used for a different request (409)."""
    match = Order.checkout_hash == checkout_hash
    if idempotency_key:
        match = or_(match, Order.idempotency_key == idempotency_key)
    earlier = (await session.scalars(select(Order).where(Order.store_id == store.id, match))).all()
    for order in earlier:
        if idempotency_key and order.idempotency_key == idempotency_key and order.request_hash != fingerprint:
            raise IdempotencyConflict(field="Idempotency-Key")
    return next((order for order in earlier if order.checkout_hash == checkout_hash), None)


def _replayed_token(order: Order, checkout_id: str, idempotency_key: str | None, token: str) -> str | None:
    """The token of a checkout's order, for the same placement again (same Idempotency-Key) only.
    Anyone else holding the checkout id gets None: the order is named (API.md: the same checkout
    completed again answers 200 with the same order) but its tracking link is not handed out."""
    if idempotency_key and order.idempotency_key == idempotency_key:
        for candidate in (token, security.legacy_order_token_for_checkout(checkout_id)):
            if security.hash_token(candidate) == order.token_hash:
                return candidate
    return None


def _placeable(
    store: Store,
    checkout: Checkout,
    data: OrderIn,
    *,
    settings: Settings,
    placed_on_page: bool,
    account_id: int | None,
) -> PaymentMethod:
    """What must hold before any stock is touched; returns the chosen (ready) payment method."""
    if checkout.prepared_by and not placed_on_page:
        # A cart an assistant prepared becomes an order only when the buyer presses "Place order"
        # on the checkout page, after reviewing it there: never through the JSON API.
        raise Conflict(
            f"This cart was prepared by an {checkout.prepared_by}: the buyer reviews it and places the order "
            "on the checkout page",
            field="checkout",
        )
    # Each payment method's readiness is checked once per placement, here.
    ready = ready_methods(store, settings=settings)
    availability = guest_checkout(store, settings=settings, ready=ready)
    if not availability.available and account_id is None:  # the guest rules; an account needs a method
        raise NotAvailable(f"Guest checkout is not available ({availability.reason})", field="store")
    method = find_method(store, data.payment_method)
    if method is None:
        raise Unprocessable(
            f"No payment method {data.payment_method!r} in this store", field="payment_method"
        )
    if method not in ready:
        require_ready(method, settings=settings)  # raises, saying why it is not ready

    errors = [FieldError(m, "required before placing the order") for m in missing_fields(store, checkout)]
    errors += _policy_errors(store, data.accepted_policies)
    if errors:
        raise Unprocessable(errors[0].message, errors=errors)
    return method


async def complete_checkout(
    session: AsyncSession,
    store: Store,
    checkout_id: str,
    data: OrderIn,
    *,
    idempotency_key: str | None,
    settings: Settings,
    placed_on_page: bool = False,
    account_id: int | None = None,
) -> tuple[Order, str | None, bool]:
    """Place the order of a checkout. Returns (order, token, created); the same checkout or the
    same key with the same request returns the existing order with created=False, and its token
    only for the same key (None otherwise: the checkout id alone never leads to the tracking link). With
    `account_id` the checkout must be that signed-in account's (account checkout, accounts/)."""
    fingerprint = request_fingerprint(checkout_id, data)
    checkout_hash = security.hash_token(checkout_id)
    token = security.order_token_for_checkout(checkout_id, idempotency_key)
    # Locks the checkout row (PostgreSQL): concurrent completions of one checkout queue here.
    # On PostgreSQL the same statement draws the order's id: the order and everything that names
    # it are then written in one statement (orders.place.insert_order).
    postgres = session.get_bind().dialect.name == "postgresql"
    checkout, order_id = await lock_checkout(
        session, store, checkout_id, account_id=account_id, draw=postgres
    )

    if checkout.status != "open":
        earlier = await _earlier_order(
            session,
            store,
            checkout_hash=checkout_hash,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
        if earlier is not None:
            return earlier, _replayed_token(earlier, checkout_id, idempotency_key, token), False
    # An open checkout has no order yet (the row is locked and turns "completed" with its order), so
    # there is nothing to look up: a key already spent on another checkout's order trips the unique
    # constraint on insert, which answers 409 below.
    method = _placeable(
        store, checkout, data, settings=settings, placed_on_page=placed_on_page, account_id=account_id
    )

    # One guarded UPDATE per line reserves the stock and returns the product it priced.
    products = await reserve_items(session, store, checkout.items)
    lines, totals = price_lines(store, checkout.items, products)
    # The order is built in memory and written with Core statements (orders.place.insert_order):
    # the placement's rows never pass through the session's unit of work.
    order = new_order(
        store_id=store.id,
        source="web-guest" if account_id is None else "web-account",
        token_hash=security.hash_token(token),
        link_seal=seal_order_link(settings, token),
        checkout_hash=checkout_hash,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        account_id=account_id,
        currency=store.currency,
        subtotal=totals.subtotal,
        shipping=totals.shipping,
        total=totals.total,
        discount=totals.discount,
        discounts=[d.record(store.currency) for d in totals.discounts],
        email=checkout.email,
        phone=checkout.phone,
        delivery=checkout.delivery,
        accepted_policies=sorted(set(data.accepted_policies)),
        payment_method=method.key,
        lines=[
            OrderLine(
                product_id=line.product.id,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
                discount=line.discount,
            )
            for line in lines
        ],
        first_status=OrderStatus.AWAITING_PAYMENT,
        actor="buyer",
        event_data={"payment_method": method.key},
    )
    if order_id is not None:
        order.id = order_id
    order.instructions.append(await draft_instruction(session, store, order, method, settings=settings))
    # The tracking document goes in with the order (set last, with everything it shows): the
    # order's first read is one SELECT.
    order.tracking, order.tracking_until = tracking_document(order, store, token=token, settings=settings)

    def riders(order: Order) -> list[Write]:
        # The confirmation and the checkout's close ride with the order (same transaction; on
        # PostgreSQL the same statement).
        return [*order_confirmation(order), close_checkout(checkout, order_id=order.id, at=order.created_at)]

    try:
        await insert_order(session, order, then=riders)
    except IntegrityError as exc:
        if "idempotency_key" in str(exc.orig):
            raise IdempotencyConflict(field="Idempotency-Key") from None
        raise
    return order, token, True
