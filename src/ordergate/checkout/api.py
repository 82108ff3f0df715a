"""Guest checkout sessions and placing their orders (guest routes: no credentials are read)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from ordergate.checkout import service
from ordergate.checkout.complete import complete_checkout
from ordergate.checkout.rows import find_checkout
from ordergate.checkout.schemas import CheckoutIn, CheckoutOut, CheckoutPatch, QuoteOut
from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore
from ordergate.errors import (
    CheckoutExpired,
    CheckoutPlaced,
    Conflict,
    IdempotencyConflict,
    NotAvailable,
    NotFound,
    OutOfStock,
    responses,
)
from ordergate.orders.schemas import OrderIn, TrackingOut
from ordergate.orders.service import document_answer, load_order, tracking_answer
from ordergate.orders.views import placed_view

# Tags per route: placing an order is documented with the orders it makes.
router = APIRouter(prefix="/api/v1/stores/{store}/checkouts")
TAGS: list[str | Enum] = ["guest: checkout"]
CheckoutId = Annotated[str, Path(max_length=128)]


@router.post("", status_code=201, response_model=CheckoutOut, tags=TAGS, responses=responses(NotFound))
async def open_checkout(
    session: Session, store: CurrentStore, settings: AppSettings, body: CheckoutIn
) -> CheckoutOut:
    return await service.open_and_view(session, store, body, settings=settings)


@router.get(
    "/{checkout_id}",
    response_model=CheckoutOut,
    tags=TAGS,
    responses=responses(NotFound, CheckoutExpired, CheckoutPlaced),
)
async def get_checkout(
    session: Session, store: CurrentStore, settings: AppSettings, checkout_id: CheckoutId
) -> CheckoutOut:
    checkout = await find_checkout(session, store, checkout_id)
    if checkout.status == "completed":
        raise CheckoutPlaced(
            "This checkout is now an order: follow it with its tracking link", field="checkout"
        )
    return await service.checkout_view(session, store, checkout_id, checkout, settings=settings)


@router.patch(
    "/{checkout_id}",
    response_model=CheckoutOut,
    tags=TAGS,
    responses=responses(NotFound, CheckoutExpired, Conflict),
)
async def update_checkout(
    session: Session, store: CurrentStore, settings: AppSettings, checkout_id: CheckoutId, body: CheckoutPatch
) -> CheckoutOut:
    checkout = await service.update_checkout(session, store, checkout_id, body, settings=settings)
    return await service.checkout_view(session, store, checkout_id, checkout, settings=settings)


@router.post(
    "/{checkout_id}/quote", response_model=QuoteOut, tags=TAGS, responses=responses(NotFound, CheckoutExpired)
)
async def quote(
    session: Session, store: CurrentStore, settings: AppSettings, checkout_id: CheckoutId
) -> QuoteOut:
    return await service.quote(session, store, checkout_id, settings=settings)


@router.post(
    "/{checkout_id}/orders",
    status_code=201,
    response_model=TrackingOut,
    tags=["guest: orders"],
    responses={
        200: {
            "description": "The order this checkout (or this Idempotency-Key) already made; its `token` and "
            "`tracking_url` only for the Idempotency-Key it was placed with (null otherwise)"
        },
        **responses(NotFound, CheckoutExpired, OutOfStock, NotAvailable, IdempotencyConflict),
    },
)
async def place_order(
    session: Session,
    store: CurrentStore,
    settings: AppSettings,
    checkout_id: CheckoutId,
    body: OrderIn,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    order, token, created = await complete_checkout(
        session, store, checkout_id, body, idempotency_key=idempotency_key, settings=settings
    )
    if token is None:  # placed before under another key: the order, not its tracking link
        view = placed_view(await load_order(session, store, order_id=order.id), store)
        return Response(view.model_dump_json(), status_code=200, media_type="application/json")
    if created and order.tracking is not None:
        # The document stored with the order is the answer: rendered once, not twice.
        answer = document_answer(order.tracking, store, token=token, settings=settings)
    else:
        answer, _ = await tracking_answer(session, store, token, settings=settings)
    return Response(answer, status_code=201 if created else 200, media_type="application/json")
