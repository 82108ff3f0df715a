"""The one-page guest checkout: contact, delivery, payment, "Place order" (which accepts the policies
named beside it), with the order summary beside the form."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from ordergate.checkout.complete import complete_checkout
from ordergate.checkout.models import Checkout
from ordergate.checkout.rows import find_checkout
from ordergate.checkout.schemas import CheckoutPatch, DeliveryIn
from ordergate.checkout.service import checkout_view, missing_fields, quote, update_checkout
from ordergate.contact import ContactIn
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import CheckoutExpired, DomainError, NotFound
from ordergate.orders.schemas import OrderIn
from ordergate.orders.views import tracking_url
from ordergate.recommendations import page_parts
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import delivery_field_names, store_view
from ordergate.web.common import (
    MAX_SECRET,
    BuyerStore,
    exit_page,
    message_page,
    page,
    see_other,
)
from ordergate.web.forms import (
    DELIVERY_AUTOCOMPLETE,
    DELIVERY_LABELS,
    MISSING_MESSAGES,
    FormErrors,
    domain_errors,
    form_str,
    validate_part,
)
from ordergate.web.render import (
    buyer_locale,
    countries,
    csrf_ok,
    default_country,
    phone_regions,
    qr_svg,
    store_country,
)
from ordergate.web.wording import method_hints

router = APIRouter(prefix="/s/{store}/checkout/{checkout_id}", include_in_schema=False)
CONTACT_FIELDS = ("email", "phone", "phone_region")
PRESELECTED = ("contact.phone_region", "delivery.country")


def _tracking_path(settings: Settings, store: Store, token: str) -> str:
    return urlsplit(tracking_url(settings, store, token)).path


def _saved_values(checkout: Checkout) -> dict[str, str]:
    values = {"contact.email": checkout.email or "", "contact.phone": checkout.phone or ""}
    values.update({f"delivery.{k}": v for k, v in (checkout.delivery or {}).items()})
    return values


def _typed_values(form: FormData, store: Store) -> dict[str, str]:
    names = [f"contact.{f}" for f in CONTACT_FIELDS] + [f"delivery.{f}" for f in delivery_field_names(store)]
    values = {name: form_str(form.get(name)).strip() for name in names}
    values["payment_method"] = form_str(form.get("payment_method"), 64)
    return values


async def _page(
    request: Request,
    session: Session,
    settings: Settings,
    store: Store,
    checkout_id: str,
    checkout: Checkout,
    *,
    values: dict[str, str],
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    view = await checkout_view(session, store, checkout_id, checkout, settings=settings)
    advisory = await quote(session, store, checkout_id, settings=settings)
    shop = store_view(store, settings=settings)
    # Country pickers start at the store's country (the buyer's locale's when the store names none).
    country = store_country(store) or default_country(buyer_locale(request, store), store) or ""
    ready = [m for m in shop.payment_methods if m.ready]
    amounts = {o.method: o for o in advisory.payment_options}
    # The first ready method is chosen.
    form_values = {
        "contact.phone_region": country,
        "delivery.country": country,
        # A cart an assistant prepared is reviewed by the buyer: nothing is chosen for them.
        "payment_method": ready[0].id if ready and not checkout.prepared_by else "",
    }
    form_values.update({k: v for k, v in values.items() if v or k not in PRESELECTED})
    fields = [
        {
            "name": name,
            "key": f"delivery.{name}",
            "label": DELIVERY_LABELS[name],
            "autocomplete": DELIVERY_AUTOCOMPLETE[name],
            "required": name in store.delivery_fields,
            "needed_in": next((f.required_in for f in shop.delivery_fields if f.name == name), []),
        }
        for name in delivery_field_names(store)
    ]
    return page(
        request,
        settings,
        "checkout.html",
        store,
        status=status,
        noindex=True,
        checkout=view,
        quote=advisory,
        shop=shop,
        delivery_fields=fields,
        methods=ready,
        method_hints=method_hints(store, settings),
        amounts=amounts,
        values=form_values,
        errors=errors or FormErrors(),
        notice=notice,
        countries=countries(),
        phone_regions=phone_regions(),
        resume_qr=qr_svg(view.resume_url, "QR code of the link to continue this checkout"),
        idempotency_key=uuid.uuid4().hex,
        checkout_api=f"/api/v1/stores/{store.slug}/checkouts/{checkout_id}",
        **page_parts.context(
            await page_parts.for_checkout(session, store, checkout),
            action=f"/s/{store.slug}/checkout/{checkout_id}/suggestions",
            after_order=False,
        ),
    )


async def _open(
    request: Request, session: Session, settings: AppSettings, found: BuyerStore, checkout_id: str
) -> tuple[Store, Checkout]:
    """The store and the open checkout at this link; else PageExit (not found, expired, or already
    an order: then to its tracking page)."""
    try:
        if len(checkout_id) > MAX_SECRET:
            raise NotFound()
        checkout = await find_checkout(session, found, checkout_id)
    except NotFound:
        raise await exit_page(
            session,
            message_page(
                request,
                settings,
                found,
                status=404,
                title="Checkout not found",
                body="There is no checkout at this link. Check that the whole link was copied, "
                "or start again.",
            ),
        ) from None
    except CheckoutExpired:
        raise await exit_page(
            session,
            message_page(
                request,
                settings,
                found,
                status=410,
                title="This checkout has expired",
                body="To keep your details safe, an unfinished checkout is deleted after a while. "
                "Your cart was not ordered and nothing was charged. Please start again.",
            ),
        ) from None
    if checkout.status == "completed" and request.method != "POST":
        # The checkout link is no key to the order: the tracking link was shown and sent to the buyer.
        raise await exit_page(session, _placed_page(request, settings, found))
    return found, checkout


OpenCheckout = Annotated[tuple[Store, Checkout], Depends(_open)]


def _placed_page(request: Request, settings: Settings, store: Store) -> Response:
    return message_page(
        request,
        settings,
        store,
        status=410,
        title="This order has been placed",
        body="This checkout became an order. Follow it with the tracking link shown when it was "
        "placed and sent to you; if you lost it, the store can send it to you again.",
        link=(f"/s/{store.slug}/track", "Send me the tracking link"),
    )


async def _placed_again(
    request: Request, session: Session, settings: Settings, store: Store, checkout_id: str, form: FormData
) -> Response:
    """The same form sent again (a double click, a reload): its order's tracking page, as the
    first time. Without that form's key, the page that says the order was placed, nothing more."""
    accepted = [form_str(p, 100) for p in form.getlist("policy")][:50]
    try:
        data = OrderIn(payment_method=form_str(form.get("payment_method"), 64), accepted_policies=accepted)
        _, token, _ = await complete_checkout(
            session,
            store,
            checkout_id,
            data,
            idempotency_key=form_str(form.get("idempotency_key"), 255) or None,
            settings=settings,
            placed_on_page=True,
        )
    except (ValidationError, DomainError):
        return _placed_page(request, settings, store)
    if token is None:  # another form's key: the order is not this request's to show
        return _placed_page(request, settings, store)
    return see_other(_tracking_path(settings, store, token))


@router.get("")
async def checkout_page(
    request: Request, session: Session, settings: AppSettings, opened: OpenCheckout, checkout_id: str
) -> Response:
    found, checkout = opened
    notice = None
    if request.query_params.get("saved"):
        notice = "Saved. Open the link below on any device to carry on from here."
    elif added := request.query_params.get("added"):  # a suggestion's "Add" (recommendations/)
        notice = await page_parts.added_notice(request, session, found, checkout, added[:64])
    return await _page(
        request,
        session,
        settings,
        found,
        checkout_id,
        checkout,
        values=_saved_values(checkout),
        notice=notice,
    )


def _valid_parts(found: Store, values: dict[str, str], errors: FormErrors) -> dict[str, Any]:
    """The contact and delivery parts that validate (each is saved even when the other is wrong)."""
    contact = validate_part(ContactIn, {f: values[f"contact.{f}"] for f in CONTACT_FIELDS}, "contact", errors)
    delivery = validate_part(
        DeliveryIn, {f: values[f"delivery.{f}"] for f in delivery_field_names(found)}, "delivery", errors
    )
    patch: dict[str, Any] = {}
    if contact is not None:
        patch["contact"] = contact
    if delivery is not None:
        patch["delivery"] = delivery
    return patch


def _check_ready_to_place(
    found: Store, checkout: Checkout, values: dict[str, str], errors: FormErrors
) -> None:
    """What "Place order" still needs, added to `errors` (a field already in error is not repeated)."""
    for missing in missing_fields(found, checkout):
        field = "contact.email" if missing == "contact" else missing
        if field not in errors.fields and not (missing == "contact" and "contact.phone" in errors.fields):
            errors.add(field, MISSING_MESSAGES.get(missing, f"{missing} is required"))
    if not values["payment_method"]:
        errors.add("payment_method", "Choose how you want to pay")


@router.post("")
async def submit_checkout(
    request: Request, session: Session, settings: AppSettings, opened: OpenCheckout, checkout_id: str
) -> Response:
    """Save what the buyer typed (every valid field, even when others are wrong) and, for
    "Place order", create the order through the same service as the API."""
    found, checkout = opened
    form = await request.form()
    if checkout.status == "completed":
        return await _placed_again(request, session, settings, found, checkout_id, form)
    values = _typed_values(form, found)
    errors = FormErrors()

    async def again(status: int) -> Response:
        return await _page(
            request,
            session,
            settings,
            found,
            checkout_id,
            checkout,
            values=values,
            errors=errors,
            status=status,
        )

    if not csrf_ok(request, form.get("csrf")):
        errors.add(
            "", "This page had been open a long time, so nothing was saved. Check your details and try again."
        )
        return await again(403)

    patch = _valid_parts(found, values, errors)
    if patch:
        try:
            checkout = await update_checkout(
                session, found, checkout_id, CheckoutPatch.model_validate(patch), settings=settings
            )
        except DomainError as exc:
            domain_errors(exc, errors, known=values)
            return await again(exc.status)

    if form.get("action") != "place":
        if errors:
            return await again(422)
        return see_other(f"/s/{found.slug}/checkout/{checkout_id}?saved=1")

    _check_ready_to_place(found, checkout, values, errors)
    if errors:
        return await again(422)

    # Pressing "Place order" beside "By placing this order you accept ..." accepts the policies
    # named there, at the versions shown (hidden fields): recorded with the order as the API does.
    accepted = [form_str(p, 100) for p in form.getlist("policy")][:50]
    try:
        data = OrderIn(payment_method=values["payment_method"], accepted_policies=accepted)
        # A savepoint: a failed order (stock ran out half-way) leaves nothing behind, while the
        # details saved above are kept for the buyer's next try.
        async with session.begin_nested():
            _, token, _ = await complete_checkout(
                session,
                found,
                checkout_id,
                data,
                idempotency_key=form_str(form.get("idempotency_key"), 255) or None,
                settings=settings,
                placed_on_page=True,  # the buyer pressed "Place order" here (CSRF-checked form)
            )
    except ValidationError:
        errors.add("payment_method", "Choose how you want to pay")
        return await again(422)
    except DomainError as exc:
        domain_errors(exc, errors, known=[*values, "items"])
        return await again(exc.status)
    if token is None:  # placed meanwhile from another form: the order is not this request's to show
        return _placed_page(request, settings, found)
    return see_other(_tracking_path(settings, found, token))
