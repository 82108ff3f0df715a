"""What every buyer page shares: finding the store, the page frame, plain error pages, redirects."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.errors import NotFound
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import get_store
from ordergate.web.render import Formats, buyer_locale, render

MAX_SLUG = 64
MAX_SECRET = 128


async def find_store(session: AsyncSession, slug: str) -> Store | None:
    if not slug or len(slug) > MAX_SLUG:
        return None
    try:
        return await get_store(session, slug)
    except NotFound:
        return None


def frame(request: Request, store: Store | None, **context: Any) -> dict[str, Any]:
    """The context every page template gets."""
    locale = buyer_locale(request, store)
    return {"store": store, "fmt": Formats(locale), "locale": locale, **context}


def message_page(
    request: Request,
    settings: Settings,
    store: Store | None,
    *,
    status: int,
    title: str,
    body: str,
    link: tuple[str, str] | None = None,
) -> HTMLResponse:
    """A plain page that says what happened and where to go next (not found, expired, ...)."""
    if link is None and store is not None:
        link = (f"/s/{store.slug}", f"Back to {store.name}")
    return render(
        request,
        settings,
        "message.html",
        frame(request, store, title=title, body=body, link=link),
        status=status,
        noindex=True,
    )


def no_store_page(request: Request, settings: Settings) -> HTMLResponse:
    return message_page(
        request,
        settings,
        None,
        status=404,
        title="Store not found",
        body="There is no store at this address. Check the link you were given.",
    )


def see_other(path: str) -> RedirectResponse:
    """After a POST, the browser GETs the result (so reloading never submits twice)."""
    return RedirectResponse(path, status_code=303)
