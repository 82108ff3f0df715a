"""What the account pages share: rendering through the buyer pages' helpers, their own CSRF cookie,
and the signed-in buyer.

The storefront's CSRF cookie is scoped to /s/, so the browser never sends it to /account/: these
pages keep a double-submit token of their own in a cookie scoped to /account/ (SameSite=Strict)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.accounts.auth import SESSION_COOKIE, SignedIn
from ordergate.accounts.sessions import resume_session
from ordergate.checkout.schemas import ContactIn
from ordergate.middleware import CSRF_COOKIE
from ordergate.security import same_secret
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import find_store, frame
from ordergate.web.render import buyer_locale, default_country, render

ACCOUNT_CSRF_COOKIE = "og_acsrf"
ACCOUNT_CSRF_FIELD = "acsrf"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def account_csrf(request: Request) -> tuple[str, bool]:
    current = request.cookies.get(ACCOUNT_CSRF_COOKIE, "")
    if _SHAPE.match(current):
        return current, False
    return secrets.token_urlsafe(32), True


def account_csrf_ok(request: Request, submitted: object) -> bool:
    cookie = request.cookies.get(ACCOUNT_CSRF_COOKIE, "")
    return isinstance(submitted, str) and bool(_SHAPE.match(cookie)) and same_secret(cookie, submitted)


def page(
    request: Request,
    settings: Settings,
    store: Store | None,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    token, new = account_csrf(request)
    response = render(
        request,
        settings,
        template,
        frame(request, store, acsrf_field=ACCOUNT_CSRF_FIELD, acsrf=token, **context),
        status=status,
        noindex=True,
    )
    # render() sets the storefront's CSRF cookie (path /s/) when the request has none, and requests
    # to /account/ never carry it: drop that header, or it would replace the buyer's own.
    response.raw_headers = [
        (k, v)
        for k, v in response.raw_headers
        if not (k == b"set-cookie" and v.startswith(CSRF_COOKIE.encode() + b"="))
    ]
    if new:
        response.set_cookie(
            ACCOUNT_CSRF_COOKIE,
            token,
            path="/account/",
            httponly=True,
            samesite="strict",
            secure=not settings.demo,
        )
    return response


def message(
    request: Request,
    settings: Settings,
    store: Store | None,
    *,
    status: int,
    title: str,
    body: str,
    link: tuple[str, str] | None = None,
) -> HTMLResponse:
    if link is None and store is not None:
        link = (f"/s/{store.slug}", f"Back to {store.name}")
    return page(request, settings, store, "message.html", status=status, title=title, body=body, link=link)


def no_store(request: Request, settings: Settings) -> HTMLResponse:
    return message(
        request,
        settings,
        None,
        status=404,
        title="Store not found",
        body="There is no store at this address. Check the link you were given.",
    )


async def store_or_none(session: AsyncSession, slug: str) -> Store | None:
    return await find_store(session, slug)


async def signed_in(request: Request, session: AsyncSession, settings: Settings) -> SignedIn | None:
    token = request.cookies.get(SESSION_COOKIE)
    found = await resume_session(session, token, settings=settings)
    if found is None or token is None:
        return None
    return SignedIn(found[0], found[1], token)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def contact_from_form(raw: str, request: Request) -> ContactIn:
    """An email address or a phone number typed into one box (national numbers read in the
    buyer's country)."""
    if "@" in raw:
        return ContactIn(email=raw)
    region = default_country(buyer_locale(request, None), None)
    return ContactIn.model_validate({"phone": raw, **({"phone_region": region} if region else {})})


def contact_error(exc: ValidationError) -> str:
    found = exc.errors()
    if not found:
        return "Enter an email address or a phone number"
    return str(found[0]["msg"]).removeprefix("Value error, ")
