"""What every console page shares: the session cookie, the console area of the one page frame (its
own CSRF cookie), and the signed-in operator (`ConsoleOperator`, or the browser goes to sign in)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ordergate.console.roles import WHAT, allowed
from ordergate.console.service import IDLE, Operator, signed_in
from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import exit_page, see_other
from ordergate.web.common import page as web_page
from ordergate.web.forms import FormErrors, form_str
from ordergate.web.render import PageArea, csrf_ok

SESSION_COOKIE = "og_admin"
ADMIN_PATH = "/admin"
CONSOLE = PageArea("og_admin_csrf", ADMIN_PATH, "strict", secure_unless_demo=True)
# Names under which a key might be pasted into an address. The console reads keys from its
# sign-in form only: an address ends up in history, logs and Referer headers.
KEY_PARAMETERS = frozenset(
    {"key", "api_key", "apikey", "operator_key", "token", "access_token", "authorization", "bearer"}
)
SECTIONS = (
    ("home", "/admin/home", "Home"),
    ("orders", "/admin/orders", "Orders"),
    ("products", "/admin/products", "Products"),
    ("bundles", "/admin/bundles", "Bundles"),
    ("payments", "/admin/payments", "Payments"),
    ("messages", "/admin/messages", "Messages"),
    ("intake", "/admin/intake", "Intake"),
    ("report", "/admin/report", "Report"),
    ("keys", "/admin/keys", "API keys"),
    ("staff", "/admin/staff", "Staff"),
    ("audit", "/admin/audit", "Audit log"),
    ("settings", "/admin/settings", "Settings"),
)
STALE_FORM = "This page had been open a long time, so nothing was changed. Please try again."


def secure_cookies(settings: Settings) -> bool:
    return not settings.demo


def key_in_address(request: Request) -> bool:
    return any(name.lower() in KEY_PARAMETERS for name in request.query_params)


def page(
    request: Request,
    settings: Settings,
    template: str,
    store: Store | None,
    operator: Operator | None,
    *,
    section: str = "",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page: the one page frame, in the console area (its own CSRF cookie), never indexed,
    with what admin_base.html shows around it (the sections the operator's role opens, the
    operator's session)."""
    role = operator.role if operator is not None else ""

    def can(method: str, path: str) -> bool:
        """For templates: offer a form only when the operator's role may send it."""
        return operator is not None and allowed(role, method, path)

    sections = [s for s in SECTIONS if operator is None or can("GET", s[1])]
    return web_page(
        request,
        settings,
        template,
        store,
        area=CONSOLE,
        status=status,
        noindex=True,
        operator=operator,
        section=section,
        sections=sections,
        can=can,
        idle_minutes=int(IDLE.total_seconds() // 60),
        **context,
    )


def key_refused(request: Request, settings: Settings) -> HTMLResponse:
    return page(
        request,
        settings,
        "admin_message.html",
        None,
        None,
        status=400,
        title="Keys never go in the address",
        body=(
            "This console takes an operator key only from its sign-in form. A key put in an address "
            "is kept in browser history and server logs: revoke that key and use a new one."
        ),
        link=("/admin/sign-in", "Go to sign-in"),
    )


def sign_in_redirect(request: Request, *, ended: bool) -> RedirectResponse:
    query: dict[str, str] = {}
    if request.method == "GET" and request.url.path not in (ADMIN_PATH, ADMIN_PATH + "/"):
        query["next"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if ended:
        query["ended"] = "1"
    response = see_other(f"{ADMIN_PATH}/sign-in" + (f"?{urlencode(query)}" if query else ""))
    if ended:
        response.delete_cookie(SESSION_COOKIE, path=ADMIN_PATH)
    return response


async def _console_operator(request: Request, session: Session, settings: AppSettings) -> Operator:
    """The signed-in operator; else PageExit with sign-in (or a refusal when a key was put in the
    address)."""
    if key_in_address(request):
        raise await exit_page(session, key_refused(request, settings))
    token = request.cookies.get(SESSION_COOKIE)
    operator = await signed_in(session, token)
    if operator is None:
        raise await exit_page(session, sign_in_redirect(request, ended=bool(token)))
    if not allowed(operator.role, request.method, request.url.path):
        raise await exit_page(session, role_refused(request, settings, operator))
    return replace(operator, address=client_address(request))


def role_refused(request: Request, settings: Settings, operator: Operator) -> HTMLResponse:
    """The one answer to a request the operator's role does not allow (roles.py decides)."""
    return page(
        request,
        settings,
        "admin_message.html",
        operator.store,
        operator,
        status=403,
        title="Your role does not allow this",
        body=f"You are signed in as {operator.role}. {WHAT.get(operator.role, '')} Nothing was changed.",
        link=(f"{ADMIN_PATH}/home", "Back to the console"),
    )


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path=ADMIN_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings),
    )


def sign_in_form(
    request: Request,
    settings: Settings,
    *,
    next_path: str,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    notices: list[str] | None = None,
    status: int = 200,
) -> Response:
    """The sign-in page: an operator key, or a staff member's store and email (for a code)."""
    values = (
        values
        if values is not None
        else {
            "store": request.query_params.get("store", "")[:64],
            "email": request.query_params.get("email", "")[:320],
        }
    )
    return page(
        request,
        settings,
        "admin_sign_in.html",
        None,
        None,
        status=status,
        demo=settings.demo,
        next_path=next_path,
        errors=errors or FormErrors(),
        notices=notices or [],
        values=values,
    )


ConsoleOperator = Annotated[Operator, Depends(_console_operator)]


def form_ok(request: Request, submitted: object) -> bool:
    return csrf_ok(request, submitted, CONSOLE)


def stale_form() -> FormErrors:
    errors = FormErrors()
    errors.add("", STALE_FORM)
    return errors


def clean(value: object, limit: int = 500) -> str:
    """Text from a form, an address or a path as services can store and compare it: at most
    `limit` characters, and no NUL (PostgreSQL refuses it in text)."""
    return form_str(value, limit).replace("\x00", "")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console page of this site, nothing else."""
    if value and value.startswith(ADMIN_PATH + "/") and not any(bad in value for bad in ("//", "\\", "..")):
        return value[:500]
    return f"{ADMIN_PATH}/orders"
