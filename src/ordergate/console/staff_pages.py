"""Staff in the console: signing in by email with a one-time code, and the owner's staff page
(invite, change role or refund limit, deactivate)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.accounts.errors import RateLimited
from ordergate.console import staff
from ordergate.console.frame import (
    ADMIN_PATH,
    ConsoleOperator,
    clean,
    form_ok,
    page,
    safe_next,
    set_session_cookie,
    sign_in_form,
    stale_form,
)
from ordergate.console.models import ROLES
from ordergate.console.service import Operator
from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.errors import DomainError, NotFound
from ordergate.settings import Settings
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)
MAX_ID = 64


def code_link(settings: Settings) -> Callable[[str], str]:
    """Where a staff sign-in email leads: the console's code page for that request."""
    return lambda public_id: f"{settings.base_url.rstrip('/')}{ADMIN_PATH}/sign-in/code/{public_id}"


def _place(
    exc: DomainError,
    errors: FormErrors,
    known: tuple[str, ...],
    prefix: str = "",
    rename: dict[str, str] | None = None,
) -> None:
    """The service's field errors beside the form's fields (`known`); the rest above the form."""
    for err in exc.errors:
        field = (rename or {}).get(err.field, err.field)
        errors.add(f"{prefix}{field}" if field in known else "", err.message)
    if not exc.errors:
        errors.add("", exc.detail)


def _code_page(
    request: Request,
    settings: Settings,
    public_id: str,
    *,
    next_path: str,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        settings,
        "admin_sign_in_code.html",
        None,
        None,
        status=status,
        public_id=public_id,
        next_path=next_path,
        errors=errors or FormErrors(),
    )


@router.post("/sign-in/email")
async def email_submit(request: Request, session: Session, settings: AppSettings) -> Response:
    """Send a staff member a sign-in code; the same answer whether or not the address is staff."""
    form = await request.form()
    next_path = safe_next(clean(form.get("next"), 500))
    values = {"store": clean(form.get("store"), 64).strip(), "email": clean(form.get("email"), 320).strip()}
    if not form_ok(request, form.get("csrf")):
        return sign_in_form(
            request, settings, next_path=next_path, errors=stale_form(), values=values, status=403
        )
    errors = FormErrors()
    if not values["store"]:
        errors.add("store", "Enter your store's short name (as in its address, like demo)")
    if not values["email"]:
        errors.add("email", "Enter the email address the owner invited")
    if errors:
        return sign_in_form(request, settings, next_path=next_path, errors=errors, values=values, status=422)
    try:
        public_id = await staff.send_code(
            session,
            store_slug=values["store"],
            email=values["email"],
            client=client_address(request),
            settings=settings,
            link=code_link(settings),
        )
    except DomainError as exc:
        # A rate limit names `code` (the shared code mechanism); here the address is what is tried.
        _place(exc, errors, ("store", "email"), rename={"code": "email"})
        response = sign_in_form(
            request, settings, next_path=next_path, errors=errors, values=values, status=exc.status
        )
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return see_other(f"{ADMIN_PATH}/sign-in/code/{public_id}?{urlencode({'next': next_path})}")


@router.get("/sign-in/code/{public_id}")
async def code_page(request: Request, settings: AppSettings, public_id: str) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    return _code_page(request, settings, clean(public_id, MAX_ID), next_path=next_path)


@router.post("/sign-in/code/{public_id}")
async def code_submit(request: Request, session: Session, settings: AppSettings, public_id: str) -> Response:
    form = await request.form()
    public_id, next_path = clean(public_id, MAX_ID), safe_next(clean(form.get("next"), 500))
    if not form_ok(request, form.get("csrf")):
        return _code_page(request, settings, public_id, next_path=next_path, errors=stale_form(), status=403)
    errors = FormErrors()
    try:
        token, _ = await staff.sign_in_with_code(
            session, public_id, clean(form.get("code"), 20), client=client_address(request), settings=settings
        )
    except DomainError as exc:
        # Rendered, not raised: the wrong try and the rate-limit hit stay counted (committed).
        for err in exc.errors:
            errors.add("code", err.message)
        if not errors:
            errors.add("code", exc.detail)
        response = _code_page(
            request, settings, public_id, next_path=next_path, errors=errors, status=exc.status
        )
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = see_other(next_path)
    set_session_cookie(response, token, settings)
    return response


# --- the owner's staff page ---------------------------------------------------------------------


async def _staff_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    found: Operator,
    *,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    members = await staff.list_staff(session, found.store)
    return page(
        request,
        settings,
        "admin_staff.html",
        found.store,
        found,
        section="staff",
        status=status,
        members=[(m, staff.limit_text(m, found.store)) for m in members],
        roles=ROLES,
        errors=errors or FormErrors(),
        values=dict(values or {}),
        notice=notice,
    )


NOTICES = {
    "invited": "Invited: a sign-in code is on its way to them.",
    "changed": "Saved.",
    "deactivated": "Deactivated: they are signed out and cannot sign in again.",
}


@router.get("/staff")
async def staff_page(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""), "")
    return await _staff_page(request, session, settings, found, notice=notice)


async def _staff_form(request: Request) -> tuple[Mapping[str, str], object]:
    form = await request.form()
    return {k: clean(v, 320) for k, v in form.items() if k != "csrf"}, form.get("csrf")


@router.post("/staff")
async def invite_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    values, token = await _staff_form(request)
    shown = {f"invite.{k}": v for k, v in values.items()}
    if not form_ok(request, token):
        return await _staff_page(
            request, session, settings, found, errors=stale_form(), values=shown, status=403
        )
    errors = FormErrors()
    try:
        async with session.begin_nested():
            await staff.invite(
                session,
                found.store,
                email=values.get("email", ""),
                role=values.get("role", ""),
                limit=values.get("refund_limit", ""),
                actor=found.actor,
                settings=settings,
                link=code_link(settings),
            )
    except DomainError as exc:
        _place(exc, errors, ("email", "role", "refund_limit"), prefix="invite.")
        return await _staff_page(
            request, session, settings, found, errors=errors, values=shown, status=exc.status
        )
    return see_other(f"{ADMIN_PATH}/staff?done=invited")


def _staff_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else None


@router.post("/staff/{staff_id}")
async def change_submit(
    request: Request, session: Session, settings: AppSettings, staff_id: str, found: ConsoleOperator
) -> Response:
    values, token = await _staff_form(request)
    member_id = _staff_id(staff_id)
    shown = {f"staff{staff_id}.{k}": v for k, v in values.items()}
    if not form_ok(request, token):
        return await _staff_page(
            request, session, settings, found, errors=stale_form(), values=shown, status=403
        )
    errors = FormErrors()
    try:
        async with session.begin_nested():
            if member_id is None:
                raise NotFound("No such staff member in this store")
            await staff.change(
                session,
                found.store,
                member_id,
                role=values.get("role", ""),
                limit=values.get("refund_limit", ""),
                actor=found.actor,
            )
    except DomainError as exc:
        _place(exc, errors, ("role", "refund_limit"), prefix=f"staff{staff_id}.")
        return await _staff_page(
            request, session, settings, found, errors=errors, values=shown, status=exc.status
        )
    return see_other(f"{ADMIN_PATH}/staff?done=changed")


@router.post("/staff/{staff_id}/deactivate")
async def deactivate_submit(
    request: Request, session: Session, settings: AppSettings, staff_id: str, found: ConsoleOperator
) -> Response:
    _values, token = await _staff_form(request)
    member_id = _staff_id(staff_id)
    if not form_ok(request, token):
        return await _staff_page(request, session, settings, found, errors=stale_form(), status=403)
    errors = FormErrors()
    try:
        if member_id is None:
            raise NotFound("No such staff member in this store")
        await staff.deactivate(session, found.store, member_id, actor=found.actor)
    except DomainError as exc:
        errors.add("", exc.detail)
        return await _staff_page(request, session, settings, found, errors=errors, status=exc.status)
    return see_other(f"{ADMIN_PATH}/staff?done=deactivated")
