"""What every page shares: finding the store, the page frame, plain error pages, redirects, and
`PageExit`, the one way a page's authorisation dependency answers instead of the page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import NotFound
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import get_store
from ordergate.web.render import BUYER, Formats, PageArea, buyer_locale, render

MAX_SLUG = 64
MAX_SECRET = 128


class PageExit(Exception):
    """Raised by a page dependency (the console operator, the signed-in account, the tracked order)
    when the page cannot be shown: `response` (sign in, not found, ...) is sent instead."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


async def exit_page(session: AsyncSession, response: Response) -> PageExit:
    """The exception to raise from a page dependency. What it read or touched is committed first
    (an idle session deleted, a window counted), as when a handler returns a page."""
    await session.commit()
    return PageExit(response)


def install_page_exit(app: FastAPI) -> None:
    async def on_exit(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageExit)
        return exc.response

    app.add_exception_handler(PageExit, on_exit)


async def find_store(session: AsyncSession, slug: str) -> Store | None:
    if not slug or len(slug) > MAX_SLUG:
        return None
    try:
        return await get_store(session, slug)
    except NotFound:
        return None


async def buyer_store(request: Request, session: Session, settings: AppSettings, store: str) -> Store:
    """The store of a buyer page's address; else PageExit with "Store not found"."""
    found = await find_store(session, store)
    if found is None:
        raise await exit_page(session, no_store_page(request, settings))
    return found


BuyerStore = Annotated[Store, Depends(buyer_store)]


def frame(request: Request, store: Store | None, **context: Any) -> dict[str, Any]:
    """The context base.html needs on every page (the store, numbers and times in the visitor's
    locale), plus the page's own."""
    locale = buyer_locale(request, store)
    return {"store": store, "fmt": Formats(locale), "locale": locale, **context}


def page(
    request: Request,
    settings: Settings,
    template: str,
    store: Store | None,
    *,
    area: PageArea = BUYER,
    status: int = 200,
    noindex: bool = False,
    img_sources: tuple[str, ...] = (),
    csp_extra: Mapping[str, tuple[str, ...]] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Every page, buyer, account or console: base.html's frame, the area's CSRF token, the headers
    (`img_sources`: the image hosts this page's CSP allows besides this site; `csp_extra`: other
    outside origins by directive, e.g. Stripe.js on an order page payable by card)."""
    return render(
        request,
        settings,
        template,
        frame(request, store, **context),
        status=status,
        noindex=noindex,
        area=area,
        img_sources=img_sources,
        csp_extra=csp_extra,
    )


def message_page(
    request: Request,
    settings: Settings,
    store: Store | None,
    *,
    status: int,
    title: str,
    body: str,
    link: tuple[str, str] | None = None,
    area: PageArea = BUYER,
) -> HTMLResponse:
    """A plain page that says what happened and where to go next (not found, expired, ...)."""
    if link is None and store is not None:
        link = (f"/s/{store.slug}", f"Back to {store.name}")
    return page(
        request,
        settings,
        "message.html",
        store,
        area=area,
        status=status,
        noindex=True,
        title=title,
        body=body,
        link=link,
    )


def no_store_page(request: Request, settings: Settings, area: PageArea = BUYER) -> HTMLResponse:
    return message_page(
        request,
        settings,
        None,
        area=area,
        status=404,
        title="Store not found",
        body="There is no store at this address. Check the link you were given.",
    )


def see_other(path: str) -> RedirectResponse:
    """After a POST, the browser GETs the result (so reloading never submits twice)."""
    return RedirectResponse(path, status_code=303)
