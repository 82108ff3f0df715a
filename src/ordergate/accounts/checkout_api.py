"""Account checkout API: the signed-in buyer's checkouts (linked to the account, `source`
"web-account" orders) and reorders, under /api/v1/account/stores/{store}/. The same services as
guest checkout, with the account attached (accounts/checkout.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from ordergate.accounts import checkout as account_checkout
from ordergate.accounts.auth import CurrentAccount
from ordergate.accounts.errors import NotSignedIn
from ordergate.checkout.schemas import CheckoutIn, CheckoutOut, CheckoutPatch, QuoteOut
from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore
from ordergate.errors import (
    CheckoutExpired,
    Conflict,
    IdempotencyConflict,
    NotAvailable,
    NotFound,
    OutOfStock,
    responses,
)
from ordergate.orders.schemas import OrderIn, TrackingOut
from ordergate.orders.service import load_order
from ordergate.orders.views import placed_view, tracking_view

router = APIRouter(prefix="/stores/{store}")

CheckoutId = Annotated[str, Path(max_length=128)]
Number = Annotated[str, Path(max_length=32)]
SIGNED_IN = (NotSignedIn,)


CHECKOUT_ERRORS = (*SIGNED_IN, NotFound, CheckoutExpired)


@router.post(
    "/checkouts",
    status_code=201,
    response_model=CheckoutOut,
    responses=responses(*SIGNED_IN, NotFound),
)
async def open_checkout(
    session: Session, store: CurrentStore, settings: AppSettings, current: CurrentAccount, body: CheckoutIn
) -> CheckoutOut:
    """A checkout linked to the signed-in account (contact defaults to its verified one)."""
    opened = await account_checkout.open_checkout(session, store, current.account, body, settings=settings)
    return await account_checkout.view(
        session, store, opened.id, opened.checkout, settings=settings, products=opened.products
    )


@router.get(
    "/checkouts/{checkout_id}",
    response_model=CheckoutOut,
    responses=responses(*CHECKOUT_ERRORS),
)
async def get_checkout(
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    current: CurrentAccount,
    checkout_id: CheckoutId,
) -> CheckoutOut:
    checkout = await account_checkout.find_checkout(session, store, current.account, checkout_id)
    return await account_checkout.view(session, store, checkout_id, checkout, settings=settings)


@router.patch(
    "/checkouts/{checkout_id}",
    response_model=CheckoutOut,
    responses=responses(*CHECKOUT_ERRORS, Conflict),
)
async def update_checkout(
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    current: CurrentAccount,
    checkout_id: CheckoutId,
    body: CheckoutPatch,
) -> CheckoutOut:
    checkout = await account_checkout.update_checkout(
        session, store, current.account, checkout_id, body, settings=settings
    )
    return await account_checkout.view(session, store, checkout_id, checkout, settings=settings)


@router.post(
    "/checkouts/{checkout_id}/quote",
    response_model=QuoteOut,
    responses=responses(*CHECKOUT_ERRORS),
)
async def quote(
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    current: CurrentAccount,
    checkout_id: CheckoutId,
) -> QuoteOut:
    return await account_checkout.quote(session, store, current.account, checkout_id, settings=settings)


@router.post(
    "/checkouts/{checkout_id}/orders",
    status_code=201,
    response_model=TrackingOut,
    responses={
        200: {"description": "The order this checkout (or this Idempotency-Key) already made"},
        **responses(*CHECKOUT_ERRORS, OutOfStock, NotAvailable, IdempotencyConflict),
    },
)
async def place_order(
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    current: CurrentAccount,
    checkout_id: CheckoutId,
    body: OrderIn,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> TrackingOut:
    """The order of the account's checkout: linked to the account, `source` "web-account"."""
    order, token, created = await account_checkout.place_order(
        session, store, current.account, checkout_id, body, idempotency_key=idempotency_key, settings=settings
    )
    if not created:
        response.status_code = 200
        order = await load_order(session, store, order_id=order.id)
    if token is None:  # placed before under another key: the order, not its tracking link
        return placed_view(order, store)
    return tracking_view(order, store, token=token, settings=settings)


@router.post(
    "/orders/{number}/reorder",
    status_code=201,
    response_model=CheckoutOut,
    responses=responses(*SIGNED_IN, NotFound, Conflict),
)
async def reorder(
    session: Session, store: CurrentStore, settings: AppSettings, current: CurrentAccount, number: Number
) -> CheckoutOut:
    """A new account checkout with one of the account's past orders in it (items still sold)."""
    opened = await account_checkout.reorder(session, store, current.account, number, settings=settings)
    return await account_checkout.view(
        session, store, opened.id, opened.checkout, settings=settings, products=opened.products
    )
