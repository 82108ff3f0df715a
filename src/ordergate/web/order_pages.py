"""The thank-you and tracking page (the tracking link), and the buyer's actions on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate.accounts.claims import finish_claim, start_claim
from ordergate.accounts.errors import InvalidCode, RateLimited
from ordergate.accounts.schemas import CodeIn
from ordergate.db import Session
from ordergate.deps import AppSettings, client_address
from ordergate.errors import DomainError, FieldError, IllegalTransition, NotFound, Unprocessable, field_path
from ordergate.notifications.schemas import OrderLinksIn
from ordergate.notifications.service import channel_of, one_contact, request_order_links
from ordergate.orders.schemas import TrackingOut
from ordergate.orders.service import refresh, track
from ordergate.orders.status import OrderStatus
from ordergate.payments.protocol import ProviderUnavailable
from ordergate.payments.remote import prepare_for_buyer
from ordergate.recommendations import page_parts
from ordergate.recommendations.schemas import SuggestionOut
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.web.card_form import STRIPE_CSP, STRIPE_JS, card_form
from ordergate.web.common import (
    MAX_SECRET,
    buyer_store,
    exit_page,
    page,
    see_other,
)
from ordergate.web.forms import FormErrors, form_str
from ordergate.web.payment_box import payment_box
from ordergate.web.render import csrf_ok, qr_svg
from ordergate.web.track_pages import links_request, track_page
from ordergate.web.wording import (
    CONFIRMING_LABEL,
    MILESTONES,
    OPEN_STATUSES,
    PAYMENT_STATES,
    STATUS_LABELS,
)

router = APIRouter(prefix="/s/{store}/orders/{token}", include_in_schema=False)

NOTICES = {
    ("refreshed", "1"): "Here is your new payment instruction. Pay to the details below, not the old ones.",
    ("link", "sent"): "Sent. If that email or phone number is the one on your orders, the links are on "
    "their way to it.",
    ("account", "code-sent"): "We sent a one-time code to the email or phone number on this order. "
    "Enter it below.",
    ("account", "created"): "Your account is ready, and this order is in it.",
    ("payment", "ready"): "Your payment details are ready.",
}


def _timeline(view: TrackingOut) -> list[dict[str, object]]:
    """The four milestones, each with when it was reached (or None)."""
    reached = {m.status: m.reached_at for m in view.milestones}
    return [{"m": milestone, "reached_at": reached.get(milestone.status)} for milestone in MILESTONES]


def _preparing(view: TrackingOut) -> bool:
    """An order paid through a provider (BTCPay, Stripe) whose payment details are not there yet."""
    payment = view.payment
    return (
        view.status == OrderStatus.AWAITING_PAYMENT
        and payment is not None
        and payment.state == "pending"
        and bool(payment.details.get("preparing"))
    )


def _checkout_link(view: TrackingOut) -> str | None:
    """The provider's own checkout page (BTCPay), when it gave one: a plain link, no script of theirs."""
    link = view.payment.details.get("checkout_link") if view.payment else None
    return link if isinstance(link, str) and link.startswith(("https://", "http://")) else None


def _link_sent_to(store: Store, view: TrackingOut) -> str | None:
    """The contact the tracking link went to (masked), only when the store sends on its channel."""
    hint = view.contact_hint
    return hint if hint and channel_of(hint) in (store.notification_channels or []) else None


def _order_page(
    request: Request,
    settings: Settings,
    store: Store,
    view: TrackingOut,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    provider_down: bool = False,
    suggestions: list[SuggestionOut] | None = None,
) -> Response:
    query = request.query_params
    notices = [text for (key, value), text in NOTICES.items() if query.get(key) == value]
    path = f"/s/{store.slug}/orders/{view.token}"
    box = payment_box(view)
    card = card_form(
        view, settings, payable=box["payable"], return_url=f"{settings.base_url.rstrip('/')}{path}"
    )
    return page(
        request,
        settings,
        "tracking.html",
        store,
        status=status,
        noindex=True,
        csp_extra=STRIPE_CSP if card else None,
        order=view,
        **box,
        card=card,
        stripe_js=STRIPE_JS,
        tracking_qr=qr_svg(view.tracking_url or path, "QR code of this order's tracking link"),
        link_sent_to=_link_sent_to(store, view),
        timeline=_timeline(view),
        status_labels=STATUS_LABELS,
        confirming_label=CONFIRMING_LABEL,
        payment_states=PAYMENT_STATES,
        is_open=view.status in OPEN_STATUSES,
        notices=notices,
        errors=errors or FormErrors(),
        values=values or {},
        show_code_form=query.get("account") == "code-sent" or bool(values and "code" in values),
        page_path=path,
        api_path=f"/api/v1/stores/{store.slug}/orders/{view.token}",
        preparing=_preparing(view),
        provider_down=provider_down,
        checkout_link=_checkout_link(view),
        **page_parts.context(suggestions or [], action=f"{path}/suggestions", after_order=True),
    )


def _not_found(request: Request, settings: Settings, store: Store) -> Response:
    """The lost-link form: a buyer whose link is broken gets the links sent again."""
    return track_page(
        request,
        settings,
        store,
        status=404,
        title="Order not found",
        intro="There is no order at this link. Check that the whole link was copied: it is long on purpose.",
    )


async def _view(
    request: Request, session: AsyncSession, settings: Settings, slug: str, token: str
) -> tuple[Store, TrackingOut]:
    """The store and the order at this tracking link, or PageExit with the not-found page."""
    store = await buyer_store(request, session, settings, slug)
    if len(token) > MAX_SECRET:
        raise await exit_page(session, _not_found(request, settings, store))
    try:
        return store, await track(session, store, token, settings=settings)
    except NotFound:
        raise await exit_page(session, _not_found(request, settings, store)) from None


@dataclass(frozen=True)
class Tracked:
    store: Store
    view: TrackingOut


async def _tracked(
    request: Request, session: Session, settings: AppSettings, store: str, token: str
) -> Tracked:
    return Tracked(*await _view(request, session, settings, store, token))


TrackedOrder = Annotated[Tracked, Depends(_tracked)]


def _maker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


@router.get("")
async def tracking_page(
    request: Request, session: Session, settings: AppSettings, found: TrackedOrder, token: str
) -> Response:
    shop, view = found.store, found.view
    provider_down = False
    if _preparing(view):
        # Ask the provider now, as POST .../payment-instruction does: outside any transaction of
        # ours (payments.remote asks between short transactions of its own), so end this one first.
        await session.commit()
        try:
            view = await prepare_for_buyer(_maker(request), shop.slug, token, settings=settings)
        except ProviderUnavailable:
            provider_down = True
    suggestions = await page_parts.for_order(session, shop, [i.sku for i in view.items])
    return _order_page(request, settings, shop, view, provider_down=provider_down, suggestions=suggestions)


@router.post("/payment-instruction")
async def prepare_payment(
    request: Request, session: Session, settings: AppSettings, store: str, token: str
) -> Response:
    """ "Try again" when the payment provider did not answer (the guest route's service, in process).
    No TrackedOrder here: this request holds no transaction while the provider is asked."""
    form = await request.form()
    if csrf_ok(request, form.get("csrf")) and len(token) <= MAX_SECRET and len(store) <= 64:
        try:
            view = await prepare_for_buyer(_maker(request), store, token, settings=settings)
        except ProviderUnavailable:
            found = await _view(request, session, settings, store, token)
            return _order_page(request, settings, *found, provider_down=True, status=503)
        except NotFound:
            pass  # the page below says so
        else:
            return see_other(f"/s/{store}/orders/{token}" + ("" if _preparing(view) else "?payment=ready"))
    found = await _view(request, session, settings, store, token)
    errors = FormErrors()
    errors.add("", "This page had been open a long time. Please press the button again.")
    return _order_page(request, settings, *found, errors=errors, status=403)


@router.post("/refresh")
async def new_instruction(
    request: Request, session: Session, settings: AppSettings, found: TrackedOrder, token: str
) -> Response:
    """ "Get a new payment instruction" for an expired order (same service as the API's refresh)."""
    shop, view = found.store, found.view
    form = await request.form()
    errors = FormErrors()
    if not csrf_ok(request, form.get("csrf")):
        errors.add("", "This page had been open a long time. Please press the button again.")
        return _order_page(request, settings, shop, view, errors=errors, status=403)
    try:
        async with session.begin_nested():
            await refresh(session, shop, token, settings=settings)
    except IllegalTransition:
        return see_other(f"/s/{shop.slug}/orders/{token}")  # already paid or renewed: show where it is
    except DomainError as exc:
        errors.add("", f"We could not renew the payment instruction: {exc.detail}")
        return _order_page(request, settings, shop, view, errors=errors, status=exc.status)
    return see_other(f"/s/{shop.slug}/orders/{token}?refreshed=1")


async def _act(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    found: Tracked,
    action: Callable[[], Awaitable[object]],
    *,
    feature: str,
    success: str,
    values: dict[str, str],
    field_map: dict[str, str],
) -> Response:
    """Run a buyer action's service (the one its guest API route runs, with the same rules) and
    show the outcome: a redirect with a notice, or the page again with errors beside their fields."""
    form = await request.form()
    errors = FormErrors()
    if not csrf_ok(request, form.get("csrf")):
        errors.add("", "This page had been open a long time. Please try again.")
        return _order_page(
            request, settings, found.store, found.view, errors=errors, values=values, status=403
        )
    savepoint = await session.begin_nested()
    try:
        await action()
    except (InvalidCode, RateLimited) as exc:
        await savepoint.commit()  # as the API route answers these: a counted try stays counted
        problem: DomainError = exc
    except DomainError as exc:
        await savepoint.rollback()
        problem = exc
    else:
        await savepoint.commit()
        return see_other(f"/s/{found.store.slug}/orders/{found.view.token}?{feature}={success}")
    for error in problem.errors:
        errors.add(field_map.get(error.field, ""), error.message)
    if not errors:
        errors.add("", problem.detail or "That did not work. Please try again.")
    return _order_page(
        request, settings, found.store, found.view, errors=errors, values=values, status=problem.status
    )


def _invalid(exc: ValidationError) -> Unprocessable:
    """A schema's refusal as the API's problem+json names it (field, message)."""
    fields = [
        FieldError(field_path(e.get("loc", ())), str(e.get("msg", "invalid")).removeprefix("Value error, "))
        for e in exc.errors()
    ]
    return Unprocessable(fields[0].message if fields else None, errors=fields)


@router.post("/send-link")
async def send_link(
    request: Request, session: Session, settings: AppSettings, found: TrackedOrder
) -> Response:
    """Send this store's tracking links to the buyer's own email or phone (lost-link recovery, as
    the order-links route does: same validation, same per-contact and per-address limits)."""
    form = await request.form()
    contact = form_str(form.get("contact"), 320).strip()
    if not contact:
        errors = FormErrors()
        errors.add("contact", "Enter your email address or phone number")
        return _order_page(request, settings, found.store, found.view, errors=errors, status=422)
    body = links_request(request, contact)

    async def action() -> object:
        try:
            asked = OrderLinksIn.model_validate(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
        to = one_contact(asked.email, asked.phone)
        return await request_order_links(
            session, found.store, to, client=client_address(request), settings=settings
        )

    return await _act(
        request,
        session,
        settings,
        found,
        action,
        feature="link",
        success="sent",
        values={"contact": contact},
        field_map={"email": "contact", "phone": "contact"},
    )


@router.post("/account")
async def start_account(
    request: Request, session: Session, settings: AppSettings, found: TrackedOrder, token: str
) -> Response:
    """ "Create account": a one-time code goes to the order's contact (as the accounts route does)."""

    async def action() -> object:
        return await start_claim(
            session, found.store, token, channel=None, client=client_address(request), settings=settings
        )

    return await _act(
        request,
        session,
        settings,
        found,
        action,
        feature="account",
        success="code-sent",
        values={},
        field_map={},
    )


@router.post("/account/verify")
async def verify_account(
    request: Request, session: Session, settings: AppSettings, found: TrackedOrder, token: str
) -> Response:
    """The code from the message: the order's guest becomes an account (as the accounts route does)."""
    form = await request.form()
    code = form_str(form.get("code"), 32).strip()

    async def action() -> object:
        try:
            typed = CodeIn(code=code)
        except ValidationError as exc:
            raise _invalid(exc) from None
        return await finish_claim(
            session, found.store, token, typed.code, client=client_address(request), settings=settings
        )

    return await _act(
        request,
        session,
        settings,
        found,
        action,
        feature="account",
        success="created",
        values={"code": code},
        field_map={"code": "code"},
    )
