"""Suggestion and search shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Reason = Literal["bought_together", "popular", "similar"]


def bundle_label(a_name: str, b_name: str, percent_off: int) -> str:
    """A bundle in the words every page, message and report uses."""
    return f"{a_name} with {b_name}: {percent_off} % off {b_name}"


class OfferOut(BaseModel):
    """An approved bundle a suggestion completes: adding it takes `percent_off` off its price."""

    bundle: int
    with_sku: str  # A, already in the cart
    with_name: str
    percent_off: int
    saving: str  # per unit added, in the store's currency
    label: str


class SuggestionOut(BaseModel):
    sku: str
    name: str
    description: str
    price: str
    currency: str
    reason: Reason
    image_url: str = ""  # the operator's picture of it (https), "" when none
    offer: OfferOut | None = None  # an approved bundle with an item of the cart: the same for everyone


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


BundleState = Literal["proposed", "approved", "retired"]
PercentOff = Annotated[int, Field(strict=True, ge=1, le=90, description="Whole percent off B, 1 to 90")]


class BundleOut(BaseModel):
    id: int
    sku_a: str
    name_a: str
    sku_b: str
    name_b: str
    price_b: str  # B's price now, in the store's currency
    saving: str  # what one unit of B saves at this percent now
    currency: str
    percent_off: int
    state: BundleState
    label: str
    support: int  # orders that held both when it was proposed
    approved_by: str | None
    approved_at: datetime | None
    retired_by: str | None
    retired_at: datetime | None
    created_at: datetime


class BundleList(BaseModel):
    items: list[BundleOut]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposeIn(_In):
    min_orders: int = Field(
        default=3, strict=True, ge=1, le=1_000_000, description="Orders holding both, at least"
    )
    limit: int = Field(default=10, strict=True, ge=1, le=50, description="New proposals at most")


class ApproveIn(_In):
    percent_off: PercentOff | None = None  # keeps the proposed percent when left out
