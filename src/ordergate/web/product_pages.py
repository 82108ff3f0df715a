"""A product's own page (/s/{store}/products/{sku}): its description and image, price and stock,
and "Add to cart" into the same cart-in-the-address as the storefront."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordergate import money
from ordergate.catalog.service import products_by_sku
from ordergate.db import Session
from ordergate.deps import AppSettings
from ordergate.web.common import BuyerStore, message_page, page
from ordergate.web.forms import cart_from, cart_query
from ordergate.web.render import image_origins, image_url

router = APIRouter(prefix="/s/{store}/products/{sku}", include_in_schema=False)


@router.get("")
async def product_page(
    request: Request, session: Session, settings: AppSettings, found: BuyerStore, sku: str
) -> Response:
    product = (await products_by_sku(session, found, [sku[:64]])).get(sku[:64])
    if product is None:
        return message_page(
            request,
            settings,
            found,
            status=404,
            title="Product not found",
            body="This store has no product at this address. It may have been taken off sale.",
        )
    query = request.query_params
    cart = cart_from(query.getlist("sku"), query.getlist("qty"))
    image = image_url(product.image_url)
    return page(
        request,
        settings,
        "product.html",
        found,
        img_sources=image_origins([image]),
        product=product,
        image=image,
        price=money.text(product.price, found.currency),
        cart_qs=cart_query(cart),
        item_count=sum(cart.values()),
    )
