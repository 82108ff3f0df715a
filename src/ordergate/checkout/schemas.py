"""Guest checkout shapes: cart, contact, delivery in; checkout and quote out. The contact is
ordergate.contact's, the totals are the order's (orders.schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ordergate.contact import ContactIn, valid_country
from ordergate.orders.schemas import TotalsOut

MAX_QUANTITY = 1_000_000
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(_In):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    quantity: int = Field(strict=True, ge=1, le=MAX_QUANTITY)


class DeliveryIn(_In):
    name: Text | None = None
    address_line1: Text | None = None
    address_line2: Text | None = None
    city: Text | None = None
    region: Text | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    country: str | None = None
    instructions: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return valid_country(value)


class CheckoutIn(_In):
    items: list[ItemIn] = Field(min_length=1, max_length=100)
    contact: ContactIn | None = None
    delivery: DeliveryIn | None = None


class CheckoutPatch(_In):
    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=100)
    contact: ContactIn | None = None
    delivery: DeliveryIn | None = None


class ContactOut(BaseModel):
    email: str | None
    phone: str | None


class CheckoutLineOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price: str
    line_total: str
    available: bool


class CheckoutOut(BaseModel):
    id: str
    store: str
    status: str
    expires_at: datetime
    resume_url: str
    items: list[CheckoutLineOut]
    contact: ContactOut | None
    delivery: dict[str, str] | None
    totals: TotalsOut
    missing: list[str]
    order_number: str | None = None
    tracking_url: str | None = None
    prepared_by: str | None = None


class QuoteLineOut(BaseModel):
    sku: str
    requested: int
    available: bool
    available_quantity: int
    unit_price: str


class PaymentOptionOut(BaseModel):
    method: str
    asset: str
    amount: str


class QuoteOut(BaseModel):
    advisory: bool = True
    reserved: bool = False
    valid_until: datetime
    lines: list[QuoteLineOut]
    totals: TotalsOut
    payment_options: list[PaymentOptionOut]
