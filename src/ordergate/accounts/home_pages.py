"""The signed-in account page, /account/{store}: orders (status, tracking link, reorder), points,
contacts (add and verify another, remove), passkeys (add, remove), sign out (here, everywhere)."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from ordergate.accounts import claims, passkeys, service, sessions
from ordergate.accounts.auth import clear_session_cookie
from ordergate.accounts.errors import RateLimited
from ordergate.accounts.models import Account
from ordergate.accounts.page_common import (
    AccountPage,
    SignedInAccount,
    account_csrf_ok,
    contact_error,
    contact_from_form,
    page,
)
from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.errors import DomainError, NotFound
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import exit_page, see_other
from ordergate.web.forms import FormErrors, form_str
from ordergate.web.wording import CONFIRMING_LABEL, STATUS_LABELS

router = APIRouter()  # its forms; the page's GET is in pages.py (an included router needs a path)
NOTICES = {
    ("welcome", "1"): "You are signed in. Every order placed with your verified contact is here.",
    ("contact", "added"): "Contact verified and added to your account.",
    ("passkey", "added"): "Passkey added. Next time, sign in with it: no code needed.",
    ("passkey", "removed"): "Passkey removed.",
    ("contact", "removed"): "Contact removed.",
}
STALE = "This page had been open a long time, so nothing was done. Please try again."


async def home_page(
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
        confirming_label=CONFIRMING_LABEL,
        notices=notices,
        errors=errors,
        values=values,
        rp_id=passkeys.relying_party(settings)[0],
    )


async def _account_form(
    request: Request, session: AsyncSession, settings: Settings, found: AccountPage
) -> FormData:
    """The posted form; else PageExit with the account page saying the form was stale."""
    form = await request.form()
    if not account_csrf_ok(request, form.get("acsrf")):
        errors = FormErrors()
        errors.add("", STALE)
        raise await exit_page(
            session,
            await home_page(
                request,
                session,
                settings,
                found.store,
                found.current.account,
                errors=errors,
                values={},
                status=403,
            ),
        )
    return form


@router.post("/sign-out")
async def sign_out(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount
) -> Response:
    shop, current = found.store, found.current
    await _account_form(request, session, settings, found)
    await sessions.end_session(session, current.token)
    response: RedirectResponse = see_other(f"/account/{shop.slug}/sign-in?signed_out=1")
    clear_session_cookie(response, settings)
    return response


@router.post("/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount
) -> Response:
    shop, current = found.store, found.current
    await _account_form(request, session, settings, found)
    await sessions.end_all_sessions(session, current.account)
    response: RedirectResponse = see_other(f"/account/{shop.slug}/sign-in?signed_out=all")
    clear_session_cookie(response, settings)
    return response


@router.post("/contacts")
async def add_contact(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount
) -> Response:
    shop, current = found.store, found.current
    form = await _account_form(request, session, settings, found)
    raw = form_str(form.get("contact"), 320).strip()
    errors = FormErrors()
    status = 422
    if not raw:
        errors.add("new-contact", "Enter the email address or phone number to add")
    else:
        try:
            contact = contact_from_form(raw, request)
            sent = await claims.start_add_contact(
                session,
                shop,
                current.account,
                contact.email or contact.phone or "",
                client=client_address(request),
                settings=settings,
            )
            return see_other(f"/account/{shop.slug}/verify/{sent.challenge}")
        except ValidationError as exc:
            errors.add("new-contact", contact_error(exc))
        except RateLimited as exc:
            errors.add("new-contact", exc.detail)
            status = 429
    return await home_page(
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
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount, contact_id: int
) -> Response:
    shop, current = found.store, found.current
    await _account_form(request, session, settings, found)
    try:
        async with session.begin_nested():
            await service.remove_contact(session, current.account, contact_id)
    except DomainError as exc:
        errors = FormErrors()
        errors.add("", exc.detail)
        return await home_page(
            request, session, settings, shop, current.account, errors=errors, values={}, status=exc.status
        )
    return see_other(f"/account/{shop.slug}?contact=removed")


@router.post("/passkeys/{passkey_id}/remove")
async def remove_passkey(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount, passkey_id: int
) -> Response:
    shop, current = found.store, found.current
    await _account_form(request, session, settings, found)
    with contextlib.suppress(NotFound):  # already gone: the list shows what is left
        await passkeys.remove_passkey(session, current.account, passkey_id)
    return see_other(f"/account/{shop.slug}?passkey=removed")
