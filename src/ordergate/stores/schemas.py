"""Store discovery shapes, and the store configuration file's shape."""

from __future__ import annotations

import typing
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DeliveryFieldName = Literal[
    "name", "address_line1", "address_line2", "city", "region", "postal_code", "country", "instructions"
]
DELIVERY_FIELD_NAMES: tuple[str, ...] = typing.get_args(DeliveryFieldName)


class GuestCheckoutOut(BaseModel):
    available: bool
    reason: str | None = None


class PaymentMethodOut(BaseModel):
    id: str
    kind: str
    asset: str
    label: str
    ready: bool
    required_confirmations: int
    reason: str | None = None


class PolicyOut(BaseModel):
    id: str
    kind: str
    title: str
    version: str
    url: str | None
    summary: str = ""


class DeliveryFieldOut(BaseModel):
    name: str
    required: bool


class StoreOut(BaseModel):
    slug: str
    name: str
    currency: str
    guest_checkout: GuestCheckoutOut
    payment_methods: list[PaymentMethodOut]
    policies: list[PolicyOut]
    delivery_fields: list[DeliveryFieldOut]


# --- store configuration (TOML) -------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    kind: str = "terms"
    title: str
    version: str = Field(min_length=1, max_length=32)
    url: str | None = None
    summary: str = ""


class PaymentMethodConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    kind: Literal["sandbox", "manual"]
    label: str
    asset: str | None = None
    enabled: bool = True
    required_confirmations: int = Field(default=1, ge=0, le=1000)
    payment_window_seconds: int | None = Field(default=None, gt=0)
    settings: dict[str, Any] = Field(default_factory=dict)


class ProductConfig(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    name: str
    description: str = ""
    price: Decimal = Field(ge=0)
    stock: int = Field(default=0, ge=0)


class StoreConfig(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    locale: str = "en_GB"
    guest_checkout: bool = True
    account_required: bool = False
    shipping_flat: Decimal = Field(default=Decimal("0"), ge=0)
    checkout_ttl_seconds: int | None = Field(default=None, gt=0)
    payment_window_seconds: int | None = Field(default=None, gt=0)
    delivery_fields: list[DeliveryFieldName] = Field(default_factory=list)
    policies: list[PolicyConfig] = Field(default_factory=list)
    payment_methods: list[PaymentMethodConfig] = Field(default_factory=list)
    products: list[ProductConfig] = Field(default_factory=list)
