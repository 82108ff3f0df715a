"""Suggestion and search shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Reason = Literal["bought_together", "popular", "similar"]


class SuggestionOut(BaseModel):
    sku: str
    name: str
    description: str
    price: str
    currency: str
    reason: Reason
    image_url: str = ""  # the operator's picture of it (https), "" when none


class SuggestionList(BaseModel):
    items: list[SuggestionOut]


class SuggestionFunnelOut(BaseModel):
    """Suggestions buyers added on the pages, and the orders that kept them."""

    added: int
    checkouts_with_added: int
    orders_with_added: int
    attach_rate: float | None
    average_order_value_with: str | None
    average_order_value_without: str | None
