"""Account checkout pages: start one from a cart or a past order, review it, place the order.

The same services as the account checkout API (accounts/checkout.py), which are the guest rules
with the account attached."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from ordergate.accounts import checkout as account_checkout
from ordergate.accounts.auth import SignedIn
from ordergate.accounts.page_common import SignedInAccount, account_csrf_ok, message, page
from ordergate.accounts.service import verified_contacts
from ordergate.checkout.schemas import CheckoutIn, CheckoutPatch, DeliveryIn, ItemIn
from ordergate.contact import ContactIn
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import CheckoutExpired, DomainError, NotFound
from ordergate.orders.schemas import OrderIn
from ordergate.recommendations import page_parts
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import ready_methods, required_delivery_fields
from ordergate.web.common import MAX_SECRET, see_other
from ordergate.web.forms import (
    DELIVERY_AUTOCOMPLETE,
    DELIVERY_LABELS,
    FormErrors,
    cart_from,
    domain_errors,
    form_str,
    validate_part,
)
from ordergate.web.render import countries
from ordergate.web.wording import method_hints

router = APIRouter()
STALE = "This page had been open a long time, so nothing was done. Please try again."
OPTIONAL_DELIVERY = ("address_line2", "region", "instructions")


def _fields(store: Store, country: str | None) -> list[dict[str, str]]:
    names = required_delivery_fields(store, country)
    names += [n for n in OPTIONAL_DELIVERY if n not in names]
    return [
        {
            "name": n,
            "key": f"delivery.{n}",
            "label": DELIVERY_LABELS[n]
            + ("" if n in required_delivery_fields(store, country) else " (optional)"),
            "autocomplete": DELIVERY_AUTOCOMPLETE[n],
        }
        for n in names
    ]


async def _checkout_page(
    request: Request,
    session: Session,
    settings: Settings,
    shop: Store,
    current: SignedIn,
    checkout_id: str,
    *,
    errors: FormErrors,
    values: dict[str, str] | None = None,
    status: int = 200,
    added: str | None = None,
) -> Response:
    try:
        checkout = await account_checkout.find_checkout(session, shop, current.account, checkout_id)
    except (NotFound, CheckoutExpired) as exc:
        return message(
            request,
            settings,
            shop,
            status=exc.status,
            title="Checkout not found" if isinstance(exc, NotFound) else "This checkout has expired",
            body="Start again from your account: your past orders have a Reorder button.",
            link=(f"/account/{shop.slug}", "Your account"),
        )
    view = await account_checkout.view(session, shop, checkout_id, checkout, settings=settings)
    if view.status == "completed" and view.tracking_url:
        return see_other(view.tracking_url.removeprefix(settings.base_url.rstrip("/")))
    quote = await account_checkout.quote(session, shop, current.account, checkout_id, settings=settings)
    contacts = await verified_contacts(session, current.account)
    current_values = {f"delivery.{k}": v for k, v in (view.delivery or {}).items()}
    chosen = (view.contact.email or view.contact.phone) if view.contact else None
    current_values["contact"] = chosen or (contacts[0].value if contacts else "")
    current_values.update(values or {})
    methods = ready_methods(shop, settings=settings)
    return page(
        request,
        settings,
        shop,
        "account_checkout.html",
        status=status,
        checkout=view,
        quote=quote,
        amounts={o.method: o for o in quote.payment_options},
        methods=methods,
        method_hints=method_hints(shop, settings),
        contacts=contacts,
        delivery_fields=_fields(shop, (view.delivery or {}).get("country")),
        countries=countries(),
        policies=shop.policies,
        errors=errors,
        values=current_values,
        notice=await page_parts.added_notice(request, session, shop, checkout, added) if added else None,
        **page_parts.context(  # suggestions, seeded also by the account's past orders (recommendations/)
            await page_parts.for_checkout(session, shop, checkout, account_id=current.account.id),
            action=f"/account/{shop.slug}/checkout/{checkout_id}/suggestions",
            after_order=False,
        ),
    )


@router.post("/checkout")
async def start_checkout(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount
) -> Response:
    """A cart (sku/qty fields, as the storefront's) becomes the signed-in buyer's checkout."""
    shop, current = found.store, found.current
    form = await request.form()
    cart = cart_from([form_str(v) for v in form.getlist("sku")], [form_str(v) for v in form.getlist("qty")])
    if not account_csrf_ok(request, form.get("acsrf")) or not cart:
        return see_other(f"/s/{shop.slug}")
    try:
        data = CheckoutIn(items=[ItemIn(sku=sku, quantity=qty) for sku, qty in cart.items()])
        opened = await account_checkout.open_checkout(session, shop, current.account, data, settings=settings)
        checkout_id = opened.id
    except (ValidationError, DomainError):
        return see_other(f"/s/{shop.slug}")
    return see_other(f"/account/{shop.slug}/checkout/{checkout_id}")


@router.post("/orders/{number}/reorder")
async def reorder(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount, number: str
) -> Response:
    shop, current = found.store, found.current
    form = await request.form()
    if not account_csrf_ok(request, form.get("acsrf")):
        return see_other(f"/account/{shop.slug}")
    try:
        opened = await account_checkout.reorder(
            session, shop, current.account, number[:32], settings=settings
        )
        checkout_id = opened.id
    except DomainError as exc:
        return message(
            request,
            settings,
            shop,
            status=exc.status,
            title="Cannot reorder",
            body=exc.detail,
            link=(f"/account/{shop.slug}", "Your account"),
        )
    return see_other(f"/account/{shop.slug}/checkout/{checkout_id}")


@router.get("/checkout/{checkout_id}")
async def checkout_page(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount, checkout_id: str
) -> Response:
    shop, current = found.store, found.current
    added = form_str(request.query_params.get("added"), 64) or None
    return await _checkout_page(
        request, session, settings, shop, current, checkout_id[:MAX_SECRET], errors=FormErrors(), added=added
    )


@router.post("/checkout/{checkout_id}")
async def place_order(
    request: Request, session: Session, settings: AppSettings, found: SignedInAccount, checkout_id: str
) -> Response:
    """Save the contact and delivery details, then place the order (one form, one press)."""
    shop, current = found.store, found.current
    checkout_id = checkout_id[:MAX_SECRET]
    form = await request.form()
    values = {k: form_str(v) for k, v in form.items() if isinstance(v, str)}
    errors = FormErrors()
    if not account_csrf_ok(request, form.get("acsrf")):
        errors.add("", STALE)
        return await _checkout_page(
            request, session, settings, shop, current, checkout_id, errors=errors, values=values, status=403
        )
    chosen = form_str(form.get("contact"), 320).strip()
    verified = {c.value: c for c in await verified_contacts(session, current.account)}
    contact = None
    if chosen not in verified:
        errors.add("contact", "Choose one of your verified contacts")
    else:
        kind = verified[chosen].kind
        contact = ContactIn.model_validate({"email": chosen} if kind == "email" else {"phone": chosen})
    delivery_data = {
        name: form_str(form.get(f"delivery.{name}"), 500).strip()
        for name in DELIVERY_LABELS
        if f"delivery.{name}" in form
    }
    delivery = validate_part(DeliveryIn, delivery_data, "delivery", errors)
    method = form_str(form.get("payment_method"), 64)
    if not method:
        errors.add("payment_method", "Choose how you want to pay")
    # The versions the page showed, not the ones in force now: a policy changed meanwhile is refused.
    accepted = [form_str(p, 100) for p in form.getlist("policy")][:50] if form.get("accept_policies") else []
    if shop.policies and not accepted:
        errors.add("accept_policies", "Accept the store's policies to place the order")
    if errors:
        return await _checkout_page(
            request, session, settings, shop, current, checkout_id, errors=errors, values=values, status=422
        )
    try:
        async with session.begin_nested():
            patch = CheckoutPatch.model_validate(
                {
                    "contact": contact.model_dump(exclude_none=True) if contact else None,
                    "delivery": delivery.model_dump(exclude_none=True) if delivery else None,
                }
            )
            await account_checkout.update_checkout(
                session, shop, current.account, checkout_id, patch, settings=settings
            )
            _order, token, _created = await account_checkout.place_order(
                session,
                shop,
                current.account,
                checkout_id,
                OrderIn(payment_method=method, accepted_policies=accepted),
                idempotency_key=None,
                settings=settings,
            )
    except DomainError as exc:
        known = {"contact", "payment_method", "accept_policies", *(f"delivery.{n}" for n in DELIVERY_LABELS)}
        domain_errors(exc, errors, known=known)
        return await _checkout_page(
            request,
            session,
            settings,
            shop,
            current,
            checkout_id,
            errors=errors,
            values=values,
            status=exc.status,
        )
    if token is None:  # placed before (a second press): the account's orders list it
        return see_other(f"/account/{shop.slug}")
    return see_other(f"/s/{shop.slug}/orders/{token}")
