"""Account pages under /account/{store}: sign in (passkey or code), the verify page, turning an
order into an account (the tracking page's "Create account"), and the account itself: orders,
points, contacts, passkeys, sign out everywhere.

A link in a message only opens the verify page (GET never spends a code: mail scanners follow
links); the code is spent by the POST of the form on that page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ordergate.accounts import claims, sessions
from ordergate.accounts.auth import set_session_cookie, signed_in_or_none
from ordergate.accounts.checkout_pages import router as checkout_router
from ordergate.accounts.errors import InvalidCode, RateLimited
from ordergate.accounts.home_pages import home_page
from ordergate.accounts.home_pages import router as home_router
from ordergate.accounts.models import EMAIL, VerificationCode
from ordergate.accounts.page_common import (
    AccountStore,
    SignedInHome,
    account_csrf_ok,
    contact_error,
    contact_from_form,
    message,
    no_store,
    page,
    store_or_none,
)
from ordergate.accounts.service import mask
from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.errors import DomainError, NotFound
from ordergate.orders.models import Order
from ordergate.orders.service import load_order
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import MAX_SECRET, exit_page, see_other
from ordergate.web.forms import FormErrors, form_str

router = APIRouter(prefix="/account/{store}", include_in_schema=False)
router.include_router(checkout_router)
router.include_router(home_router)

SIGNED_OUT = {
    "1": "You are signed out.",
    "all": "You are signed out on every device.",
    "ended": "Your session has ended. Sign in again to see your account.",
}
STALE = "This page had been open a long time, so nothing was done. Please try again."


# --- signing in ----------------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_page(
    request: Request, session: Session, settings: AppSettings, found: AccountStore
) -> Response:
    if await signed_in_or_none(request, session, settings):
        return see_other(f"/account/{found.slug}")
    notice = SIGNED_OUT.get(request.query_params.get("signed_out", ""))
    return page(
        request, settings, found, "account_sign_in.html", errors=FormErrors(), values={}, notice=notice
    )


@router.post("/sign-in")
async def request_code(
    request: Request, session: Session, settings: AppSettings, found: AccountStore
) -> Response:
    """ "Email or text me a code": the same answer whether or not there is anything to sign in to."""
    form = await request.form()
    raw = form_str(form.get("contact"), 320).strip()
    errors = FormErrors()
    if not account_csrf_ok(request, form.get("acsrf")):
        errors.add("", STALE)
        status = 403
    elif not raw:
        errors.add("contact", "Enter your email address or phone number")
        status = 422
    else:
        try:
            contact = contact_from_form(raw, request)
            sent = await claims.start_sign_in(
                session,
                found,
                contact.email or contact.phone or "",
                client=client_address(request),
                settings=settings,
            )
            return see_other(f"/account/{found.slug}/verify/{sent.challenge}")
        except ValidationError as exc:
            errors.add("contact", contact_error(exc))
            status = 422
        except RateLimited as exc:
            errors.add("contact", exc.detail)
            status = 429
    return page(
        request,
        settings,
        found,
        "account_sign_in.html",
        status=status,
        errors=errors,
        values={"contact": raw},
        notice=None,
    )


# --- from an order: the tracking page's "Create account" ------------------------------------------


async def _order_to_claim(
    request: Request, session: Session, settings: AppSettings, store: str, token: str
) -> tuple[Store, Order]:
    """The store and the order at this tracking token; else PageExit (no such store or order)."""
    found = await store_or_none(session, store)
    if found is None:
        raise await exit_page(session, no_store(request, settings))
    try:
        if len(token) > MAX_SECRET:
            raise NotFound()
        order = await load_order(session, found, token=token)
    except NotFound:
        raise await exit_page(
            session,
            message(
                request,
                settings,
                found,
                status=404,
                title="Order not found",
                body="There is no order at this link. Check that the whole link was copied.",
            ),
        ) from None
    return found, order


OrderToClaim = Annotated[tuple[Store, Order], Depends(_order_to_claim)]


@router.get("/claim/{token}")
async def claim_page(request: Request, settings: AppSettings, found: OrderToClaim, token: str) -> Response:
    shop, order = found
    hint = mask(EMAIL, order.email) if order.email else (mask("phone", order.phone) if order.phone else None)
    return page(
        request,
        settings,
        shop,
        "account_claim.html",
        order=order,
        hint=hint,
        token=token,
        errors=FormErrors(),
    )


@router.post("/claim/{token}")
async def start_claim(
    request: Request, session: Session, settings: AppSettings, found: OrderToClaim, token: str
) -> Response:
    """Send the code to the order's contact and open the verify page. No CSRF token: this only
    sends a code to the order's own contact (rate limited), and the tracking page posts here."""
    shop, order = found
    try:
        sent = await claims.start_claim(
            session, shop, token, channel=None, client=client_address(request), settings=settings
        )
    except (RateLimited, DomainError) as exc:
        errors = FormErrors()
        errors.add("", exc.detail)
        hint = (
            mask(EMAIL, order.email) if order.email else (mask("phone", order.phone) if order.phone else None)
        )
        return page(
            request,
            settings,
            shop,
            "account_claim.html",
            status=exc.status,
            order=order,
            hint=hint,
            token=token,
            errors=errors,
        )
    return see_other(f"/account/{shop.slug}/verify/{sent.challenge}")


# --- the verify page ---------------------------------------------------------------------------


def _verify_page(
    request: Request,
    settings: Settings,
    shop: Store,
    row: VerificationCode,
    *,
    errors: FormErrors,
    status: int = 200,
) -> Response:
    return page(
        request,
        settings,
        shop,
        "account_verify.html",
        status=status,
        challenge=row.public_id,
        purpose=row.purpose,
        sent_to=mask(row.contact_kind, row.contact_value),
        channel="email" if row.contact_kind == EMAIL else "text message",
        errors=errors,
    )


@router.get("/verify/{challenge}")
async def verify_page(
    request: Request, session: Session, settings: AppSettings, found: AccountStore, challenge: str
) -> Response:
    """Shows the code form; spends nothing (a scanner opening the link changes nothing)."""
    try:
        row = await claims.pending_code(session, found, challenge[:64])
    except NotFound:
        return message(
            request,
            settings,
            found,
            status=404,
            title="This code request is unknown",
            body="The link may be incomplete. Ask for a new code from your order page or the sign-in page.",
            link=(f"/account/{found.slug}/sign-in", "Sign in"),
        )
    return _verify_page(request, settings, found, row, errors=FormErrors())


@router.post("/verify/{challenge}")
async def verify_code(
    request: Request, session: Session, settings: AppSettings, found: AccountStore, challenge: str
) -> Response:
    try:
        row = await claims.pending_code(session, found, challenge[:64])
    except NotFound:
        return see_other(f"/account/{found.slug}/verify/{challenge[:64]}")
    form = await request.form()
    errors = FormErrors()
    if not account_csrf_ok(request, form.get("acsrf")):
        errors.add("", STALE)
        return _verify_page(request, settings, found, row, errors=errors, status=403)
    current = await signed_in_or_none(request, session, settings)
    try:
        account, _attached, purpose = await claims.finish_code(
            session,
            found,
            row.public_id,
            form_str(form.get("code"), 32),
            account=current.account if current else None,
            client=client_address(request),
            settings=settings,
        )
    except (InvalidCode, RateLimited, DomainError) as exc:
        errors.add("code" if exc.errors and exc.errors[0].field == "code" else "", exc.detail)
        return _verify_page(request, settings, found, row, errors=errors, status=exc.status)
    if purpose == claims.CONTACT and current is not None:
        return see_other(f"/account/{found.slug}?contact=added")
    if current is not None:
        await sessions.end_session(session, current.token)  # one session per browser
    response = see_other(f"/account/{found.slug}?welcome=1")
    token = await sessions.start_session(session, account, method="code", settings=settings)
    set_session_cookie(response, token, settings)
    return response


@router.get("")
async def account_home(
    request: Request, session: Session, settings: AppSettings, found: SignedInHome
) -> Response:
    account = found.current.account
    return await home_page(request, session, settings, found.store, account, errors=FormErrors(), values={})
