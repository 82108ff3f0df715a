"""What the assistant is told: the limits of its tools, the server's instructions, what each order
status proves, and the described argument types its tools take."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints

from ordergate.checkout.schemas import ItemIn
from ordergate.orders.status import OrderStatus

PREPARED_BY = "assistant"
LIMITS = (
    "Assistants may explain the store and the checkout and prepare a cart. No tool can place an order, "
    "record or make a payment, or change an order: the buyer places the order themselves by opening the "
    'checkout link and pressing "Place order".'
)
INSTRUCTIONS = f"""ordergate: guest checkout for online stores.

{LIMITS}

Typical use: describe_store and list_products to answer questions, explain_checkout to say what happens
next, prepare_checkout to put the chosen items in a cart and give the buyer its link, track_order with the
token (or whole tracking link) the buyer gives you to say where their order is. The buyer enters their own
contact and delivery details on the checkout page."""

# What each status proves, in the buyer's words; keyed by the state machine's own names.
MEANINGS: dict[str, str] = {
    OrderStatus.AWAITING_PAYMENT: (
        "The buyer placed the order on the checkout page: contact, delivery and the store's policies were "
        "accepted, the stock is reserved for this order and a payment instruction (amount, destination, "
        "deadline) was issued. Nothing has been paid yet."
    ),
    OrderStatus.FUNDED: (
        "Payments with the required confirmations cover the full amount: the store has the money and the "
        "stock is taken off the shelf for this order. The store can ship it now."
    ),
    OrderStatus.SHIPPED: (
        "The store recorded a shipment with a carrier and tracking number (and its evidence, such as a "
        "depot scan), shown on the tracking page."
    ),
    OrderStatus.COMPLETED: (
        "The store marked the order complete: delivered, nothing more is expected from the buyer."
    ),
    OrderStatus.EXPIRED: (
        "The payment deadline passed before the amount was covered, so the reserved stock went back. The "
        "buyer can ask for a new payment instruction from the tracking page."
    ),
    OrderStatus.CANCELLED: (
        "The store cancelled the order; any reserved or paid-for stock went back to the shelf."
    ),
}

StoreSlug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    Field(description="The store's short name as it appears in its links, for example 'demo'"),
]
SearchQuery = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, max_length=200),
    Field(description="Words to look for in the product's SKU, name or description; omit to list all"),
]
Limit = Annotated[int, Field(ge=1, le=200, description="At most this many products")]
SuggestLimit = Annotated[int, Field(ge=1, le=12, description="At most this many suggestions")]
CartItems = Annotated[
    list[ItemIn],
    Field(min_length=1, description="Products (by SKU, from list_products) and how many of each"),
]
OrderToken = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=512),
    Field(description="The order token the buyer gives you, or their whole tracking link"),
]
TRACKING_LINK = re.compile(r"/s/(?P<store>[^/?#]+)/orders/(?P<token>[^/?#]+)")
