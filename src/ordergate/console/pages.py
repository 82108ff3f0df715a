"""Console pages: mounting them, signing in with an operator key, signing out."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from ordergate.console import (
    audit_pages,
    bulk_pages,
    bundle_pages,
    catalog_pages,
    home_pages,
    me_pages,
    ops_pages,
    order_pages,
    refund_pages,
    settings_pages,
    staff_pages,
)
from ordergate.console.frame import (
    ADMIN_PATH,
    SESSION_COOKIE,
    ConsoleOperator,
    clean,
    form_ok,
    key_in_address,
    key_refused,
    page,
    safe_next,
    secure_cookies,
    set_session_cookie,
    sign_in_form,
    stale_form,
)
from ordergate.console.service import TooManyAttempts, sign_in, sign_out, signed_in
from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.errors import DomainError
from ordergate.web.common import see_other
from ordergate.web.forms import FormErrors

router = APIRouter(prefix=ADMIN_PATH, include_in_schema=False)

SIGN_IN_NOTICES = {
    "ended": "Your console session has ended (it was idle too long, reached its time limit, or its key "
    "was revoked). Sign in again to carry on.",
    "signed_out": "You are signed out.",
}


def mount_console(app: FastAPI) -> None:
    """The operator console under /admin (not a guest path: its cookies reach it)."""
    app.include_router(router)
    app.include_router(bulk_pages.router)  # /orders/bulk, /orders/export.csv before /orders/{number}
    app.include_router(order_pages.router)
    app.include_router(ops_pages.router)
    app.include_router(catalog_pages.router)
    app.include_router(bundle_pages.router)
    app.include_router(refund_pages.router)
    app.include_router(home_pages.router)
    app.include_router(staff_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(me_pages.router)
    app.include_router(settings_pages.router)


@router.get("")
@router.get("/")
async def home(request: Request, session: Session, settings: AppSettings, found: ConsoleOperator) -> Response:
    return see_other(f"{ADMIN_PATH}/home")


@router.get("/sign-in")
async def sign_in_page(request: Request, session: Session, settings: AppSettings) -> Response:
    if key_in_address(request):
        return key_refused(request, settings)
    next_path = safe_next(request.query_params.get("next"))
    if await signed_in(session, request.cookies.get(SESSION_COOKIE)) is not None:
        return see_other(next_path)
    notices = [text for key, text in SIGN_IN_NOTICES.items() if request.query_params.get(key) == "1"]
    return sign_in_form(request, settings, next_path=next_path, notices=notices)


@router.post("/sign-in")
async def sign_in_submit(request: Request, session: Session, settings: AppSettings) -> Response:
    if key_in_address(request):
        return key_refused(request, settings)
    form = await request.form()
    next_path = safe_next(clean(form.get("next"), 500))
    if not form_ok(request, form.get("csrf")):
        return sign_in_form(request, settings, next_path=next_path, errors=stale_form(), status=403)
    errors = FormErrors()
    client = client_address(request)
    try:
        token, _ = await sign_in(session, key=clean(form.get("key"), 300), client=client)
    except TooManyAttempts as exc:
        errors.add("", exc.detail)
        response = sign_in_form(request, settings, next_path=next_path, errors=errors, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except DomainError as exc:
        for err in exc.errors or ():
            errors.add("key" if err.field == "key" else "", err.message)
        if not errors:
            errors.add("key", exc.detail)
        return sign_in_form(request, settings, next_path=next_path, errors=errors, status=exc.status)
    response = see_other(next_path)
    set_session_cookie(response, token, settings)
    return response


@router.post("/sign-out")
async def sign_out_submit(
    request: Request, session: Session, settings: AppSettings, found: ConsoleOperator
) -> Response:
    form = await request.form()
    if not form_ok(request, form.get("csrf")):
        return page(
            request,
            settings,
            "admin_message.html",
            found.store,
            found,
            status=403,
            title="You are still signed in",
            body="This page had been open a long time, so nothing was changed. Press Sign out again.",
            link=(f"{ADMIN_PATH}/orders", "Back to orders"),
        )
    await sign_out(session, request.cookies.get(SESSION_COOKIE))
    response = see_other(f"{ADMIN_PATH}/sign-in?signed_out=1")
    response.delete_cookie(
        SESSION_COOKIE, path=ADMIN_PATH, httponly=True, samesite="strict", secure=secure_cookies(settings)
    )
    return response
