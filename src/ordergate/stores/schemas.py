"""Store discovery shapes, and the store configuration file's shape."""

from __future__ import annotations

import typing
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ordergate.payments.config import settings_errors

DeliveryFieldName = Literal[
    "name", "address_line1", "address_line2", "city", "region", "postal_code", "country", "instructions"
]
Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
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
    required_in: list[str] = Field(default_factory=list)  # countries where it becomes required


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
    # Never echo the input in an error's text: store files hold secrets (API keys, webhook secrets).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class PolicyConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    kind: str = "terms"
    title: str
    version: str = Field(min_length=1, max_length=32)
    url: str | None = None
    summary: str = ""


class PaymentMethodConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    kind: Literal["sandbox", "manual", "onchain", "btcpay", "stripe"]
    label: str
    asset: str | None = None
    enabled: bool = True
    required_confirmations: int = Field(default=1, ge=0, le=1000)
    payment_window_seconds: int | None = Field(default=None, gt=0)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("settings")
    @classmethod
    def _settings_of_kind(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # Each kind's keys are checked by payments.config; the message names the bad key.
        problems = settings_errors(str(info.data.get("kind")), value) if "kind" in info.data else []
        if problems:
            raise ValueError("; ".join(f"{key}: {message}" for key, message in problems))
        return value


class ProductConfig(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    name: str
    description: str = ""
    price: Decimal = Field(ge=0)
    stock: int = Field(default=0, ge=0)
    image_url: str = Field(default="", max_length=500)
    status: Literal["active", "archived"] = "active"
    low_stock_threshold: int | None = Field(default=None, ge=0)


class SourceConfig(_Strict):
    """A channel that sends this store orders (see ordergate.intake). Its id names the intake URL
    `/api/v1/intake/{id}`, so it is unique across stores."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    kind: Literal["shopify", "woo", "generic", "csv"]
    owner: str = Field(min_length=1, max_length=64)  # the team answering for this source's payloads
    secret_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,99}$")
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    rule_owners: dict[str, str] = Field(default_factory=dict)  # rule id -> team
    rule_severity: dict[str, Literal["block", "warn"]] = Field(default_factory=dict)
    sku_map: dict[str, str] = Field(default_factory=dict)  # external SKU -> our SKU
    settings: dict[str, Any] = Field(default_factory=dict)  # shop_domain (shopify), site_url (woo)
    enabled: bool = True


class StoreConfig(_Strict):
    @field_validator("delivery_fields_by_country")
    @classmethod
    def _countries(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        import pycountry

        for code in value:
            if len(code) != 2 or not code.isupper() or pycountry.countries.get(alpha_2=code) is None:
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return value

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
    # Extra fields some destinations need, e.g. {"US" = ["region"]}: asked for only when shipping there.
    delivery_fields_by_country: dict[str, list[DeliveryFieldName]] = Field(default_factory=dict)
    delivery_fields_optional: list[DeliveryFieldName] = Field(default_factory=list)  # asked, not required
    guest_checkout_note: str = Field(default="", max_length=300)
    notification_channels: list[Channel] = Field(default_factory=lambda: list(CHANNELS))
    loyalty_points_per_unit: Decimal = Field(
        default=Decimal(0), ge=0, le=1000
    )  # per currency unit, on completion
    automatic_accounts: bool = False
    policies: list[PolicyConfig] = Field(default_factory=list)
    payment_methods: list[PaymentMethodConfig] = Field(default_factory=list)
    products: list[ProductConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)


class PaymentMethodSettingsOut(PaymentMethodOut):
    enabled: bool
    payment_window_seconds: int
    settings: dict[str, Any]


class PolicyVersionOut(BaseModel):
    version: str
    title: str
    summary: str
    created_by: str
    created_at: datetime


class PolicySettingsOut(PolicyOut):
    versions: list[PolicyVersionOut] = Field(default_factory=list)  # newest first


class StoreSettingsOut(BaseModel):
    """The store's settings as the operator reads them; secrets are masked."""

    slug: str
    name: str
    currency: str
    locale: str
    guest_checkout: GuestCheckoutOut
    guest_checkout_enabled: bool
    account_required: bool
    shipping_flat: str
    checkout_ttl_seconds: int
    payment_window_seconds: int
    delivery_fields: list[DeliveryFieldOut]
    notification_channels: list[str]
    loyalty_points_per_unit: str
    automatic_accounts: bool
    policies: list[PolicySettingsOut]
    payment_methods: list[PaymentMethodSettingsOut]
    guest_checkout_note: str = ""


# --- changing settings (console and admin API) ------------------------------------------------


class PolicyPatch(_Strict):
    """A policy's new wording; any change makes a new version that buyers accept from then on."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=2000)
    version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


class PaymentMethodPatch(_Strict):
    enabled: bool


class StoreSettingsPatch(_Strict):
    """Any of the settings the console changes; what is left out stays as it is."""

    guest_checkout_enabled: bool | None = None
    guest_checkout_note: str | None = Field(default=None, max_length=300)
    delivery_fields: list[DeliveryFieldName] | None = None
    delivery_fields_optional: list[DeliveryFieldName] | None = None
    notification_channels: list[Channel] | None = None
    loyalty_points_per_unit: Decimal | None = Field(default=None, ge=0, le=1000, decimal_places=4)
    payment_methods: dict[str, PaymentMethodPatch] | None = Field(default=None, max_length=50)
    policies: dict[str, PolicyPatch] | None = Field(default=None, max_length=50)
