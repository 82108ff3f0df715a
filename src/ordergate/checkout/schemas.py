"""Guest checkout shapes: cart, contact, delivery in; checkout and quote out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

MAX_QUANTITY = 1_000_000
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(_In):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    quantity: int = Field(strict=True, ge=1, le=MAX_QUANTITY)


def valid_country(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as GB or DE")
    return code


class ContactIn(_In):
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    phone_region: str | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not a valid email address: {exc}") from None

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return valid_country(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        region = info.data.get("phone_region")
        try:
            parsed = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            raise ValueError(
                "not a phone number; give it with its country code, or set phone_region"
            ) from None
        if not phonenumbers.is_valid_number(parsed):
            raise ValueError("not a valid phone number for its country") from None
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


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


class TotalsOut(BaseModel):
    subtotal: str
    shipping: str
    total: str
    currency: str


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
