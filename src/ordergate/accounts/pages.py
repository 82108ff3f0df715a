"""Account pages under /account/{store}: sign in (passkey or code), the verify page, turning an
order into an account (the tracking page's "Create account"), and the account itself: orders,
points, contacts, passkeys, sign out everywhere.

A link in a message only opens the verify page (GET never spends a code: mail scanners follow
links); the code is spent by the POST of the form on that page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from ordergate.accounts import claims, passkeys, service, sessions
from ordergate.accounts.auth import SignedIn, clear_session_cookie, set_session_cookie
from ordergate.accounts.checkout_pages import router as checkout_router
from ordergate.accounts.errors import InvalidCode, RateLimited
from ordergate.accounts.models import EMAIL, Account, VerificationCode
from ordergate.accounts.page_common import (
    account_csrf_ok,
    client_of,
    message,
    no_store,
    page,
    signed_in,
    store_or_none,
)
from ordergate.accounts.service import mask
from ordergate.checkout.schemas import ContactIn
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError, NotFound
from ordergate.orders.models import Order
from ordergate.orders.service import load_order
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import MAX_SECRET, see_other
from ordergate.web.forms import FormErrors, form_str
from ordergate.web.render import buyer_locale, default_country
from ordergate.web.wording import STATUS_LABELS

router = APIRouter(prefix="/account/{store}", include_in_schema=False)
router.include_router(checkout_router)

NOTICES = {
    ("welcome", "1"): "You are signed in. Every order placed with your verified contact is here.",
    ("contact", "added"): "Contact verified and added to your account.",
    ("passkey", "added"): "Passkey added. Next time, sign in with it: no code needed.",
    ("passkey", "removed"): "Passkey removed.",
    ("contact", "removed"): "Contact removed.",
}
SIGNED_OUT = {
    "1": "You are signed out.",
    "all": "You are signed out on every device.",
    "ended": "Your session has ended. Sign in again to see your account.",
}
STALE = "This page had been open a long time, so nothing was done. Please try again."


def _contact_body(raw: str, request: Request) -> ContactIn:
    """An email address or a phone number typed into one box (national numbers read in the
    buyer's country)."""
    if "@" in raw:
        return ContactIn(email=raw)
    region = default_country(buyer_locale(request, None), None)
    return ContactIn.model_validate({"phone": raw, **({"phone_region": region} if region else {})})


def _contact_error(exc: ValidationError) -> str:
    found = exc.errors()
    if not found:
        return "Enter an email address or a phone number"
    return str(found[0]["msg"]).removeprefix("Value error, ")


# --- signing in ----------------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_page(request: Request, session: Session, settings: AppSettings, store: str) -> Response:
    found = await store_or_none(session, store)
    if found is None:
        return no_store(request, settings)
    if await signed_in(request, session, settings):
        return see_other(f"/account/{found.slug}")
    notice = SIGNED_OUT.get(request.query_params.get("signed_out", ""))
    return page(
        request, settings, found, "account_sign_in.html", errors=FormErrors(), values={}, notice=notice
    )


@router.post("/sign-in")
async def request_code(request: Request, session: Session, settings: AppSettings, store: str) -> Response:
    """ "Email or text me a code": the same answer whether or not there is anything to sign in to."""
    found = await store_or_none(session, store)
    if found is None:
        return no_store(request, settings)
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
            contact = _contact_body(raw, request)
            sent = await claims.start_sign_in(
                session,
                found,
                contact.email or contact.phone or "",
                client=client_of(request),
                settings=settings,
            )
            return see_other(f"/account/{found.slug}/verify/{sent.challenge}")
        except ValidationError as exc:
            errors.add("contact", _contact_error(exc))
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


async def _order_or_page(
    request: Request, session: Session, settings: AppSettings, slug: str, token: str
) -> tuple[Store, Order] | Response:
    found = await store_or_none(session, slug)
    if found is None:
        return no_store(request, settings)
    try:
        if len(token) > MAX_SECRET:
            raise NotFound()
        order = await load_order(session, found, token=token)
    except NotFound:
        return message(
            request,
            settings,
            found,
            status=404,
            title="Order not found",
            body="There is no order at this link. Check that the whole link was copied.",
        )
    return found, order


@router.get("/claim/{token}")
async def claim_page(
    request: Request, session: Session, settings: AppSettings, store: str, token: str
) -> Response:
    found = await _order_or_page(request, session, settings, store, token)
    if isinstance(found, Response):
        return found
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
    request: Request, session: Session, settings: AppSettings, store: str, token: str
) -> Response:
    """Send the code to the order's contact and open the verify page. No CSRF token: this only
    sends a code to the order's own contact (rate limited), and the tracking page posts here."""
    found = await _order_or_page(request, session, settings, store, token)
    if isinstance(found, Response):
        return found
    shop, order = found
    try:
        sent = await claims.start_claim(
            session, shop, token, channel=None, client=client_of(request), settings=settings
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
    request: Request, session: Session, settings: AppSettings, store: str, challenge: str
) -> Response:
    """Shows the code form; spends nothing (a scanner opening the link changes nothing)."""
    found = await store_or_none(session, store)
    if found is None:
        return no_store(request, settings)
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
    request: Request, session: Session, settings: AppSettings, store: str, challenge: str
) -> Response:
    found = await store_or_none(session, store)
    if found is None:
        return no_store(request, settings)
    try:
        row = await claims.pending_code(session, found, challenge[:64])
    except NotFound:
        return see_other(f"/account/{found.slug}/verify/{challenge[:64]}")
    form = await request.form()
    errors = FormErrors()
    if not account_csrf_ok(request, form.get("acsrf")):
        errors.add("", STALE)
        return _verify_page(request, settings, found, row, errors=errors, status=403)
    current = await signed_in(request, session, settings)
    try:
        account, _attached, purpose = await claims.finish_code(
            session,
            found,
            row.public_id,
            form_str(form.get("code"), 32),
            account=current.account if current else None,
            client=client_of(request),
            settings=settings,
        )
    except (InvalidCode, RateLimited, DomainError) as exc:
        errors.add("code" if exc.errors and exc.errors[0].field == "code" else "", exc.detail)
        return _verify_page(request, settings, found, row, errors=errors, status=exc.status)
    if purpose == claims.CONTACT and current is not None:
        return see_other(f"/account/{found.slug}?contact=added")
    response = see_other(f"/account/{found.slug}?welcome=1")
    token = await sessions.start_session(session, account, method="code", settings=settings)
    set_session_cookie(response, token, settings)
    return response


# --- the account -------------------------------------------------------------------------------


@router.get("")
async def account_home(request: Request, session: Session, settings: AppSettings, store: str) -> Response:
    found = await store_or_none(session, store)
    if found is None:
        return no_store(request, settings)
    current = await signed_in(request, session, settings)
    if current is None:
        return see_other(f"/account/{found.slug}/sign-in")
    return await _home(request, session, settings, found, current.account, errors=FormErrors(), values={})


async def _home(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    shop: Store,
    account: Account,
    *,
    errors: FormErrors,
    values: dict[str, str],
    status: int = 200,
) -> Response:
    # Orders placed since with a contact this account has verified join it now.
    await service.attach_orders(session, account, shop)
    query = request.query_params
    notices = [text for (key, value), text in NOTICES.items() if query.get(key) == value]
    contacts = await service.contacts_of(session, account)
    loyalty = await service.loyalty_view(session, account, shop)
    return page(
        request,
        settings,
        shop,
        "account_home.html",
        status=status,
        account=account,
        orders=await service.account_orders(session, account, settings=settings, store=shop),
        contacts=contacts,
        verified_count=sum(1 for c in contacts if c.verified_at is not None),
        passkeys=await service.passkeys_of(session, account),
        loyalty=loyalty,
        show_points=loyalty.balance != 0 or bool(loyalty.entries) or loyalty.points_per_unit not in ("0", ""),
        status_labels=STATUS_LABELS,
        notices=notices,
        errors=errors,
        values=values,
        rp_id=passkeys.relying_party(settings)[0],
    )


async def _signed_in_form(
    request: Request, session: AsyncSession, settings: Settings, store: str
) -> tuple[Store, SignedIn, FormData] | Response:
    """(store, signed-in buyer, form) for an account form, or the response to send instead."""
    found = await store_or_none(session, store)
    if found is None:
        return no_store(request, settings)
    current = await signed_in(request, session, settings)
    if current is None:
        return see_other(f"/account/{found.slug}/sign-in?signed_out=ended")
    form = await request.form()
    if not account_csrf_ok(request, form.get("acsrf")):
        errors = FormErrors()
        errors.add("", STALE)
        return await _home(
            request, session, settings, found, current.account, errors=errors, values={}, status=403
        )
    return found, current, form


@router.post("/sign-out")
async def sign_out(request: Request, session: Session, settings: AppSettings, store: str) -> Response:
    found = await _signed_in_form(request, session, settings, store)
    if isinstance(found, Response):
        return found
    shop, current, _ = found
    await sessions.end_session(session, current.token)
    response: RedirectResponse = see_other(f"/account/{shop.slug}/sign-in?signed_out=1")
    clear_session_cookie(response, settings)
    return response


@router.post("/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request, session: Session, settings: AppSettings, store: str
) -> Response:
    found = await _signed_in_form(request, session, settings, store)
    if isinstance(found, Response):
        return found
    shop, current, _ = found
    await sessions.end_all_sessions(session, current.account)
    response: RedirectResponse = see_other(f"/account/{shop.slug}/sign-in?signed_out=all")
    clear_session_cookie(response, settings)
    return response


@router.post("/contacts")
async def add_contact(request: Request, session: Session, settings: AppSettings, store: str) -> Response:
    found = await _signed_in_form(request, session, settings, store)
    if isinstance(found, Response):
        return found
    shop, current, form = found
    raw = form_str(form.get("contact"), 320).strip()
    errors = FormErrors()
    status = 422
    if not raw:
        errors.add("new-contact", "Enter the email address or phone number to add")
    else:
        try:
            contact = _contact_body(raw, request)
            sent = await claims.start_add_contact(
                session,
                shop,
                current.account,
                contact.email or contact.phone or "",
                client=client_of(request),
                settings=settings,
            )
            return see_other(f"/account/{shop.slug}/verify/{sent.challenge}")
        except ValidationError as exc:
            errors.add("new-contact", _contact_error(exc))
        except RateLimited as exc:
            errors.add("new-contact", exc.detail)
            status = 429
    return await _home(
        request,
        session,
        settings,
        shop,
        current.account,
        errors=errors,
        values={"contact": raw},
        status=status,
    )


@router.post("/contacts/{contact_id}/remove")
async def remove_contact(
    request: Request, session: Session, settings: AppSettings, store: str, contact_id: int
) -> Response:
    found = await _signed_in_form(request, session, settings, store)
    if isinstance(found, Response):
        return found
    shop, current, _ = found
    try:
        async with session.begin_nested():
            await service.remove_contact(session, current.account, contact_id)
    except DomainError as exc:
        errors = FormErrors()
        errors.add("", exc.detail)
        return await _home(
            request, session, settings, shop, current.account, errors=errors, values={}, status=exc.status
        )
    return see_other(f"/account/{shop.slug}?contact=removed")


@router.post("/passkeys/{passkey_id}/remove")
async def remove_passkey(
    request: Request, session: Session, settings: AppSettings, store: str, passkey_id: int
) -> Response:
    found = await _signed_in_form(request, session, settings, store)
    if isinstance(found, Response):
        return found
    shop, current, _ = found
    try:
        await passkeys.remove_passkey(session, current.account, passkey_id)
    except NotFound:
        pass  # already gone: the list shows what is left
    return see_other(f"/account/{shop.slug}?passkey=removed")
