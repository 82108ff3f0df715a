"""What the account pages share: the account area of the one page frame (its own CSRF cookie,
scoped to /account/, SameSite=Strict: the storefront's never reaches these paths), and the
signed-in buyer (`SignedInAccount`; `SignedInHome` for the account's home)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.accounts.auth import SignedIn, signed_in_or_none
from ordergate.contact import ContactIn
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import exit_page, find_store, message_page, no_store_page, see_other
from ordergate.web.common import page as web_page
from ordergate.web.render import PageArea, buyer_locale, csrf_ok, default_country

# The account pages' own double-submit token: the storefront's cookie is scoped to /s/.
ACCOUNT = PageArea("og_acsrf", "/account/", "strict", field="acsrf", secure_unless_demo=True)


def account_csrf_ok(request: Request, submitted: object) -> bool:
    return csrf_ok(request, submitted, ACCOUNT)


def page(
    request: Request,
    settings: Settings,
    store: Store | None,
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """An account page: the one page frame, in the account area (its own CSRF cookie), never indexed."""
    return web_page(request, settings, template, store, area=ACCOUNT, status=status, noindex=True, **context)


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
    return message_page(
        request, settings, store, status=status, title=title, body=body, link=link, area=ACCOUNT
    )


def no_store(request: Request, settings: Settings) -> HTMLResponse:
    return no_store_page(request, settings, ACCOUNT)


async def store_or_none(session: AsyncSession, slug: str) -> Store | None:
    return await find_store(session, slug)


async def _account_store(request: Request, session: Session, settings: AppSettings, store: str) -> Store:
    """The store of an account page's address; else PageExit with "Store not found"."""
    found = await store_or_none(session, store)
    if found is None:
        raise await exit_page(session, no_store(request, settings))
    return found


AccountStore = Annotated[Store, Depends(_account_store)]


@dataclass(frozen=True)
class AccountPage:
    store: Store
    current: SignedIn


async def _signed_in_or_exit(
    request: Request, session: AsyncSession, settings: Settings, found: Store, *, query: str
) -> AccountPage:
    current = await signed_in_or_none(request, session, settings)
    if current is None:
        raise await exit_page(session, see_other(f"/account/{found.slug}/sign-in{query}"))
    return AccountPage(found, current)


async def _signed_in_account(
    request: Request, session: Session, settings: AppSettings, found: AccountStore
) -> AccountPage:
    """The store and its signed-in buyer; else PageExit (no such store; sign in again: it ended)."""
    return await _signed_in_or_exit(request, session, settings, found, query="?signed_out=ended")


async def _account_home(
    request: Request, session: Session, settings: AppSettings, found: AccountStore
) -> AccountPage:
    """As `SignedInAccount`, for the account's home, the address a buyer opens first: a visitor who
    is not signed in is sent to sign in, with no "your session ended" notice."""
    return await _signed_in_or_exit(request, session, settings, found, query="")


SignedInAccount = Annotated[AccountPage, Depends(_signed_in_account)]
SignedInHome = Annotated[AccountPage, Depends(_account_home)]


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
