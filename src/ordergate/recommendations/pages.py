"""Suggestions on the buyer pages: "Add" on the checkout page puts the product in the same checkout;
on the thank-you page it starts a new checkout. Guest pages: no credentials are read, nothing is
reserved, and the price shown is the catalog's, the same for every buyer."""

from __future__ import annotations

from typing import get_args
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ordergate.accounts.page_common import SignedInAccount, account_csrf_ok
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError
from ordergate.recommendations.schemas import Reason
from ordergate.recommendations.service import add_to_checkout, start_checkout_with
from ordergate.stores.models import Store
from ordergate.web.checkout_pages import OpenCheckout
from ordergate.web.common import MAX_SECRET, message_page, see_other
from ordergate.web.forms import form_str
from ordergate.web.order_pages import TrackedOrder
from ordergate.web.render import csrf_ok

router = APIRouter(prefix="/s/{store}", include_in_schema=False)
# The signed-in buyer's checkout page: reads the account session, as every /account/ page does.
account_router = APIRouter(prefix="/account/{store}", include_in_schema=False)
REASONS: tuple[str, ...] = get_args(Reason)


def _refused(
    request: Request, settings: AppSettings, store: Store, back: str, status: int, body: str
) -> Response:
    return message_page(
        request,
        settings,
        store,
        status=status,
        title="Nothing was added",
        body=body,
        link=(back, "Back to your order"),
    )


async def _choice(request: Request, *, account: bool = False) -> tuple[str, Reason, bool]:
    form = await request.form()
    sku = form_str(form.get("sku"), 64).strip()
    reason = form_str(form.get("reason"), 32)
    chosen: Reason = reason if reason in REASONS else "similar"  # type: ignore[assignment]
    fresh = account_csrf_ok(request, form.get("acsrf")) if account else csrf_ok(request, form.get("csrf"))
    return sku, chosen, fresh


STALE = "This page had been open a long time, so nothing was added. Please try again."


@router.post("/checkout/{checkout_id}/suggestions")
async def add_on_checkout(
    request: Request, session: Session, settings: AppSettings, opened: OpenCheckout, checkout_id: str
) -> Response:
    store, _checkout = opened
    back = f"/s/{store.slug}/checkout/{checkout_id}"
    sku, reason, fresh = await _choice(request)
    if not fresh:
        return _refused(request, settings, store, back, 403, STALE)
    try:
        await add_to_checkout(session, store, checkout_id, sku, reason=reason, settings=settings)
    except (DomainError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else "That quantity cannot be ordered."
        return _refused(
            request, settings, store, back, 422 if isinstance(exc, ValidationError) else exc.status, detail
        )
    return see_other(f"{back}?added={quote(sku)}#items")


@router.post("/orders/{token}/suggestions")
async def add_after_order(
    request: Request, session: Session, settings: AppSettings, found: TrackedOrder, token: str
) -> Response:
    store = found.store
    back = f"/s/{store.slug}/orders/{token}"
    sku, reason, fresh = await _choice(request)
    if not fresh:
        return _refused(request, settings, store, back, 403, STALE)
    try:
        checkout_id = await start_checkout_with(session, store, sku, reason=reason, settings=settings)
    except DomainError as exc:
        return _refused(request, settings, store, back, exc.status, exc.detail)
    return see_other(f"/s/{store.slug}/checkout/{checkout_id}?added={quote(sku)}#items")


@account_router.post("/checkout/{checkout_id}/suggestions")
async def add_on_account_checkout(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount, checkout_id: str
) -> Response:
    store, account_id = found.store, found.current.account.id
    back = f"/account/{store.slug}/checkout/{checkout_id}"
    sku, reason, fresh = await _choice(request, account=True)
    if not fresh:
        return _refused(request, settings, store, back, 403, STALE)
    try:
        await add_to_checkout(
            session,
            store,
            checkout_id[:MAX_SECRET],
            sku,
            reason=reason,
            settings=settings,
            account_id=account_id,
        )
    except (DomainError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else "That quantity cannot be ordered."
        status = 422 if isinstance(exc, ValidationError) else exc.status
        return _refused(request, settings, store, back, status, detail)
    return see_other(f"{back}?added={quote(sku)}#items")
