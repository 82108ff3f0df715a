"""What the buyer pages show of suggestions: up to three for a checkout or an order, their wording,
and the notice after an "Add". Imported by the page modules; imports no page module itself."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.catalog.service import products_by_sku
from ordergate.checkout.models import Checkout
from ordergate.checkout.pricing import price_lines
from ordergate.recommendations import suggest
from ordergate.recommendations.schemas import SuggestionOut
from ordergate.stores.models import Store
from ordergate.web.render import Formats, buyer_locale, image_origins, image_url

SHOWN = 3
REASON_WORDS = {
    "bought_together": "Often bought together with your items",
    "popular": "Popular in this store",
    "similar": "Similar to your items",
}


async def for_checkout(
    session: AsyncSession, store: Store, checkout: Checkout, *, account_id: int | None = None
) -> list[SuggestionOut]:
    """Up to three suggestions for the checkout page (none once it is not open); on a signed-in
    buyer's own checkout page (`account_id`), seeded also by what the account bought before."""
    if checkout.status != "open":
        return []
    cart = suggest.checkout_cart(store, checkout)
    return (await suggest.suggestions(session, cart, limit=SHOWN, account_id=account_id)).items


async def for_order(session: AsyncSession, store: Store, skus: list[str]) -> list[SuggestionOut]:
    """Up to three suggestions for the thank-you page, from the order's items. Without their bundle
    offers: "Add" there starts a new checkout, which does not hold the order's items."""
    cart = suggest.Cart(store.id, store.currency, tuple(skus))
    items = (await suggest.suggestions(session, cart, limit=SHOWN)).items
    return [item.model_copy(update={"offer": None}) for item in items]


async def added_notice(
    request: Request, session: AsyncSession, store: Store, checkout: Checkout, sku: str
) -> str | None:
    """ "Added X. Your new total is Y." after an Add, from the live catalog."""
    products = await products_by_sku(session, store, [str(i["sku"]) for i in checkout.items])
    if sku not in products:
        return None
    _lines, totals = price_lines(store, checkout.items, products)
    total = Formats(buyer_locale(request, store)).money(totals.total, totals.currency)
    return f"Added {products[sku].name}. Your new total is {total}."


def context(suggestions: list[SuggestionOut], *, action: str, after_order: bool) -> dict[str, Any]:
    """The template variables suggestions.html reads."""
    images = {s.sku: image_url(s.image_url) for s in suggestions}
    return {
        "suggestions": suggestions,
        "suggestion_images": images,
        "img_sources": image_origins(images.values()),  # the page's CSP allows the operator's image host
        "suggestion_action": action,
        "suggestion_reasons": REASON_WORDS,
        "suggestions_title": "You may also like" if after_order else "Goes well with your order",
        "suggestions_hint": "Adding one starts a new checkout; this order stays as it is."
        if after_order
        else "Same price for everyone. Nothing is reserved until you place the order.",
    }
