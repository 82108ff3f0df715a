"""What the assistant tools answer with: the guest API's shapes plus what an assistant needs to explain."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ordergate.catalog.schemas import ProductOut
from ordergate.checkout.schemas import CheckoutOut
from ordergate.recommendations.schemas import SuggestionOut
from ordergate.stores.schemas import StoreOut


class StoreDescription(StoreOut):
    storefront_url: str
    shipping_flat: str = Field(description="Flat shipping added once to every order with items")
    assistant_limits: str


class ProductMatches(BaseModel):
    store: str
    query: str | None
    count: int = Field(description="How many products matched (items may be cut to the limit)")
    items: list[ProductOut]


class CartSuggestions(BaseModel):
    store: str
    cart: list[str] = Field(description="The SKUs the suggestions are for")
    items: list[SuggestionOut]


class CheckoutStep(BaseModel):
    step: int
    name: str
    done_by: str = Field(description="'assistant or buyer', or 'buyer only'")
    what_happens: str


class MilestoneMeaning(BaseModel):
    status: str
    proves: str


class PaymentOption(BaseModel):
    id: str
    label: str
    asset: str
    required_confirmations: int
    pay_within: str


class CheckoutGuide(BaseModel):
    store: str
    steps: list[CheckoutStep]
    milestones: list[MilestoneMeaning] = Field(description="The order's progress, in the order reached")
    other_outcomes: list[MilestoneMeaning]
    payment_options: list[PaymentOption]
    checkout_expires_after: str
    assistant_limits: str


class PreparedCheckout(CheckoutOut):
    next_step: str = Field(description="What to tell the buyer: they open resume_url and place the order")
