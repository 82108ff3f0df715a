"""A way back in: "Track an order" (the lost-link form: the tracking links go to the buyer's own
email or phone) and the account sign-in, from the storefront and the order-not-found page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.errors import DomainError
from ordergate.notifications.schemas import OrderLinksIn
from ordergate.notifications.service import one_contact, request_order_links
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.common import BuyerStore, page, see_other
from ordergate.web.forms import FormErrors, buyer_words, form_str
from ordergate.web.render import buyer_locale, csrf_ok, default_country

router = APIRouter(prefix="/s/{store}/track", include_in_schema=False)
SENT = "Sent. If that email or phone number is the one on your orders, the links are on their way to it."


def links_request(request: Request, contact: str) -> dict[str, str]:
    """The order-links request for what the buyer typed: an email, else a phone number (a national
    number read in the buyer's country; "+..." numbers need no hint)."""
    if "@" in contact:
        return {"email": contact}
    region = default_country(buyer_locale(request, None), None)
    return {"phone": contact, **({"phone_region": region} if region else {})}


async def send_links(
    request: Request, session: AsyncSession, settings: Settings, store: Store, contact: str
) -> FormErrors:
    """Queue the store's tracking links to `contact` (the order-links route's rules and limits);
    the errors to show beside the field, none when it went through."""
    errors = FormErrors()
    if not contact:
        errors.add("contact", "Enter the email address or phone number you ordered with")
        return errors
    try:
        asked = OrderLinksIn.model_validate(links_request(request, contact))
    except ValidationError as exc:
        for e in exc.errors():
            field = str(e.get("loc", ("",))[0])
            errors.add("contact", buyer_words(field, str(e.get("msg", "")).removeprefix("Value error, ")))
        return errors
    try:
        async with session.begin_nested():
            sent = await request_order_links(
                session,
                store,
                one_contact(asked.email, asked.phone),
                client=client_address(request),
                settings=settings,
            )
    except DomainError as exc:
        errors.add("contact", exc.detail)
        return errors
    if not sent:
        errors.add("contact", "Too many requests for links just now. Please try again in an hour.")
    return errors


def track_page(
    request: Request,
    settings: Settings,
    store: Store,
    *,
    title: str = "Track an order",
    intro: str = "",
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    return page(
        request,
        settings,
        "track.html",
        store,
        status=status,
        noindex=True,
        title=title,
        intro=intro,
        errors=errors or FormErrors(),
        values=values or {},
        notice=notice,
    )


@router.get("")
async def track_form(request: Request, settings: AppSettings, found: BuyerStore) -> Response:
    notice = SENT if request.query_params.get("sent") else None
    return track_page(request, settings, found, notice=notice)


@router.post("")
async def track_submit(
    request: Request, session: Session, settings: AppSettings, found: BuyerStore
) -> Response:
    form = await request.form()
    contact = form_str(form.get("contact"), 320).strip()
    if not csrf_ok(request, form.get("csrf")):
        errors = FormErrors()
        errors.add("", "This page had been open a long time. Please press the button again.")
        return track_page(request, settings, found, errors=errors, values={"contact": contact}, status=403)
    errors = await send_links(request, session, settings, found, contact)
    if errors:
        status = 429 if "Too many" in errors.fields.get("contact", "") else 422
        return track_page(request, settings, found, errors=errors, values={"contact": contact}, status=status)
    return see_other(f"/s/{found.slug}/track?sent=1")
