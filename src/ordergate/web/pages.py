"""Buyer pages: the storefront and its cart, policy pages, and mounting every page route on the app."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy import select

from ordergate.catalog.service import list_products, products_by_sku
from ordergate.checkout.pricing import price_lines
from ordergate.checkout.schemas import CheckoutIn, ItemIn
from ordergate.checkout.service import open_checkout
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.errors import DomainError
from ordergate.recommendations.search import product_list
from ordergate.settings import Settings
from ordergate.stores.admin import policy_version
from ordergate.stores.models import Store
from ordergate.stores.service import guest_checkout
from ordergate.web import checkout_pages, order_pages, product_pages, track_pages
from ordergate.web.common import BuyerStore, install_page_exit, message_page, page, see_other
from ordergate.web.forms import FormErrors, cart_from, cart_query, form_str
from ordergate.web.render import STATIC, csrf_ok, image_origins, image_url
from ordergate.web.wording import guest_checkout_reason

router = APIRouter(prefix="/s/{store}", include_in_schema=False)
root = APIRouter(include_in_schema=False)


def mount_pages(app: FastAPI, settings: Settings) -> None:
    """The buyer pages and their static files (CSS, JS, icon: no build step)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_page_exit(app)
    app.include_router(root)
    app.include_router(router)
    app.include_router(checkout_pages.router)
    app.include_router(order_pages.router)
    app.include_router(track_pages.router)
    app.include_router(product_pages.router)


async def _storefront(
    request: Request,
    session: Session,
    settings: Settings,
    store: Store,
    cart: dict[str, int],
    *,
    errors: FormErrors | None = None,
    notice: str | None = None,
    status: int = 200,
    search: str = "",
) -> HTMLResponse:
    if search:  # ranked by relevance (recommendations/search.py)
        products = (await product_list(session, store, search)).items
    else:
        products = (await list_products(session, store)).items
    known = await products_by_sku(session, store, cart)
    cart = {sku: qty for sku, qty in cart.items() if sku in known}
    lines, totals = price_lines(store, [{"sku": s, "quantity": q} for s, q in cart.items()], known)
    guest = guest_checkout(store, settings=settings)
    images = {p.sku: image_url(p.image_url) for p in products}
    return page(
        request,
        settings,
        "storefront.html",
        store,
        status=status,
        img_sources=image_origins(images.values()),
        images=images,
        products=products,
        lines=lines,
        totals=totals,
        cart_qs=cart_query(cart),
        item_count=sum(cart.values()),
        guest=guest,
        guest_reason=None
        if guest.available
        else guest_checkout_reason(guest.reason, store.guest_checkout_note),
        errors=errors or FormErrors(),
        notice=notice,
        search=search,
        cart=cart,
    )


@root.get("/")
async def home(session: Session, settings: AppSettings) -> Response:
    """The server's address leads to a storefront: the demo's, or the only store's; else not found."""
    slugs = list(await session.scalars(select(Store.slug).order_by(Store.id).limit(2)))
    if settings.demo and "demo" in slugs:
        return see_other("/s/demo")
    if settings.demo or len(slugs) == 1:
        return see_other(f"/s/{slugs[0]}") if slugs else Response(status_code=404)
    return Response("Not found: stores live at /s/{store}", status_code=404, media_type="text/plain")


@router.get("")
async def storefront(
    request: Request, session: Session, settings: AppSettings, found: BuyerStore
) -> Response:
    query = request.query_params
    cart = cart_from(query.getlist("sku"), query.getlist("qty"))
    added = query.get("added")
    notice = None
    if added and added in cart:
        names = {p.sku: p.name for p in (await products_by_sku(session, found, [added])).values()}
        notice = f"Added {names.get(added, added)} to your cart." if added in names else None
    search = form_str(query.get("q"), 200).strip()
    return await _storefront(request, session, settings, found, cart, notice=notice, search=search)


@router.post("/cart")
async def update_cart(
    request: Request, session: Session, settings: AppSettings, found: BuyerStore
) -> Response:
    """Add one item (a product's button) or change quantities (the cart's form); the cart lives in the URL."""
    form = await request.form()
    if "cart" in form:
        parsed = parse_qs(form_str(form.get("cart"), 8000))
        cart = cart_from(parsed.get("sku", []), parsed.get("qty", []))
    else:
        cart = cart_from(
            [form_str(v) for v in form.getlist("sku")], [form_str(v) for v in form.getlist("qty")]
        )
    if not csrf_ok(request, form.get("csrf")):
        errors = FormErrors()
        errors.add("", "This page had been open a long time, so nothing was changed. Please try again.")
        return await _storefront(request, session, settings, found, cart, errors=errors, status=403)
    added = form_str(form.get("add"), 64)
    if added:
        cart[added] = cart.get(added, 0) + 1
    query = cart_query(cart)
    if added:
        query += "&" + urlencode({"added": added})
    return see_other(f"/s/{found.slug}" + (f"?{query}" if query else "") + "#cart")


@router.post("/checkout")
async def start_checkout(
    request: Request, session: Session, settings: AppSettings, found: BuyerStore
) -> Response:
    """The cart becomes a guest checkout; the buyer lands on its page (which is also its resume link)."""
    form = await request.form()
    cart = cart_from([form_str(v) for v in form.getlist("sku")], [form_str(v) for v in form.getlist("qty")])
    errors = FormErrors()
    if not csrf_ok(request, form.get("csrf")):
        errors.add(
            "", "This page had been open a long time, so your checkout was not started. Please try again."
        )
        return await _storefront(request, session, settings, found, cart, errors=errors, status=403)
    guest = guest_checkout(found, settings=settings)
    if not guest.available:
        errors.add("", guest_checkout_reason(guest.reason, found.guest_checkout_note))
        return await _storefront(request, session, settings, found, cart, errors=errors, status=409)
    if not cart:
        errors.add("cart", "Your cart is empty: add something first.")
        return await _storefront(request, session, settings, found, cart, errors=errors, status=422)
    try:
        data = CheckoutIn(items=[ItemIn(sku=sku, quantity=qty) for sku, qty in cart.items()])
        checkout_id = (await open_checkout(session, found, data, settings=settings)).id
    except (ValidationError, DomainError) as exc:
        errors.add(
            "cart", exc.detail if isinstance(exc, DomainError) else "Check the quantities in your cart."
        )
        return await _storefront(request, session, settings, found, cart, errors=errors, status=422)
    return see_other(f"/s/{found.slug}/checkout/{checkout_id}")


@router.get("/policies/{policy_id}")
async def policy(
    request: Request, session: Session, settings: AppSettings, found: BuyerStore, policy_id: str
) -> Response:
    match: object = next((p for p in found.policies if p.key == policy_id), None)
    wanted = form_str(request.query_params.get("version"), 32)
    current = getattr(match, "version", None)
    if match is not None and wanted and wanted != current:
        # An earlier version, as the orders that accepted it saw it (the store keeps every one).
        match = await policy_version(session, found, policy_id, wanted)
    else:
        current = None
    if match is None:
        return message_page(
            request,
            settings,
            found,
            status=404,
            title="Policy not found",
            body="This store has no policy at this address.",
        )
    return page(request, settings, "policy.html", found, policy=match, policy_id=policy_id, current=current)
