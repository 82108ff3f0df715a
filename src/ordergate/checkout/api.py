"""Guest checkout sessions (guest routes: no credentials are read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ordergate.checkout import service
from ordergate.checkout.schemas import CheckoutIn, CheckoutOut, CheckoutPatch, QuoteOut
from ordergate.db import Session
from ordergate.deps import AppSettings, CurrentStore
from ordergate.errors import CheckoutExpired, Conflict, NotFound, responses

router = APIRouter(prefix="/api/v1/stores/{store}/checkouts", tags=["guest: checkout"])
CheckoutId = Annotated[str, Path(max_length=128)]


@router.post("", status_code=201, response_model=CheckoutOut, responses=responses(NotFound))
async def open_checkout(
    session: Session, store: CurrentStore, settings: AppSettings, body: CheckoutIn
) -> CheckoutOut:
    checkout_id, checkout = await service.open_checkout(session, store, body, settings=settings)
    return await service.checkout_view(session, store, checkout_id, checkout, settings=settings)


@router.get("/{checkout_id}", response_model=CheckoutOut, responses=responses(NotFound, CheckoutExpired))
async def get_checkout(
    session: Session, store: CurrentStore, settings: AppSettings, checkout_id: CheckoutId
) -> CheckoutOut:
    checkout = await service.find_checkout(session, store, checkout_id)
    return await service.checkout_view(session, store, checkout_id, checkout, settings=settings)


@router.patch(
    "/{checkout_id}", response_model=CheckoutOut, responses=responses(NotFound, CheckoutExpired, Conflict)
)
async def update_checkout(
    session: Session, store: CurrentStore, settings: AppSettings, checkout_id: CheckoutId, body: CheckoutPatch
) -> CheckoutOut:
    checkout = await service.update_checkout(session, store, checkout_id, body, settings=settings)
    return await service.checkout_view(session, store, checkout_id, checkout, settings=settings)


@router.post("/{checkout_id}/quote", response_model=QuoteOut, responses=responses(NotFound, CheckoutExpired))
async def quote(
    session: Session, store: CurrentStore, settings: AppSettings, checkout_id: CheckoutId
) -> QuoteOut:
    return await service.quote(session, store, checkout_id, settings=settings)
