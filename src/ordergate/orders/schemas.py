"""Order shapes: the buyer's tracking view, the operator's view, and operator actions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints

Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
AssetCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3,8}$")
]


class DiscountOut(BaseModel):
    """An operator-approved bundle applied to the order: `units` of `sku` at its percent off."""

    bundle: int
    label: str
    sku: str
    units: int
    amount: str


class TotalsOut(BaseModel):
    subtotal: str
    shipping: str
    total: str  # subtotal - discount + shipping
    currency: str
    discount: str = "0"
    discounts: list[DiscountOut] = Field(default_factory=list)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderIn(_In):
    payment_method: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    accepted_policies: list[Annotated[str, StringConstraints(max_length=100)]] = Field(max_length=50)


class ShipmentIn(_In):
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    evidence: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class CancelIn(_In):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class PaymentEvidenceIn(_In):
    amount: Decimal = Field(gt=0, max_digits=28, decimal_places=8, allow_inf_nan=False)
    reference: Reference
    confirmations: int = Field(default=1, strict=True, ge=0, le=1_000_000)


class RefundLineIn(_In):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    quantity: int = Field(strict=True, ge=1, le=1_000_000)


class RefundIn(_In):
    """Give money back: `amount`, or `lines` (their value), or neither (everything not yet refunded).
    `restock` puts the refunded lines' units back on sale; `reference` is the evidence of a refund
    made by hand (on-chain transaction id, bank reference) and is needed for those."""

    amount: Decimal | None = Field(default=None, gt=0, max_digits=28, decimal_places=8, allow_inf_nan=False)
    lines: list[RefundLineIn] | None = Field(default=None, min_length=1, max_length=200)
    restock: bool = False
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    reference: Reference | None = None


class SandboxPaymentIn(_In):
    amount: Decimal | None = Field(default=None, gt=0, max_digits=28, decimal_places=8, allow_inf_nan=False)
    confirmations: int = Field(strict=True, ge=0, le=1_000_000)
    reference: Reference | None = None


class MilestoneOut(BaseModel):
    status: str
    reached_at: datetime


class OrderLineOut(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price: str
    line_total: str  # before discounts
    discount: str = "0"  # this line's share of the order's bundle discounts


class PaymentOut(BaseModel):
    method: str
    kind: str
    asset: str
    amount: str
    destination: str
    uri: str | None
    required_confirmations: int
    confirmations: int
    received_amount: str
    remaining_amount: str
    expires_at: datetime
    state: str
    details: dict[str, Any] = Field(default_factory=dict)
    # > 0: the full amount arrived in time and waits for this many more confirmations; nothing to pay.
    confirmations_missing: int = 0
    # Details only the buyer's own page shows (Stripe's client_secret), sealed, with the context they
    # are bound to: a private attribute, so never in the API's answer, its schema or a log line.
    _sealed: dict[str, tuple[str, str]] = PrivateAttr(default_factory=dict)

    def sealed_detail(self, name: str) -> tuple[str, str] | None:
        """(sealed value, context) of a detail sealed at rest, for the page that may open it."""
        return self._sealed.get(name)

    def with_sealed(self, sealed: dict[str, tuple[str, str]]) -> PaymentOut:
        self._sealed = sealed
        return self


class ShipmentOut(BaseModel):
    carrier: str
    tracking_number: str
    evidence: str
    shipped_at: datetime


class TrackingOut(BaseModel):
    number: str
    token: str | None
    tracking_url: str | None = None
    store: str
    status: str
    created_at: datetime
    milestones: list[MilestoneOut]
    items: list[OrderLineOut]
    totals: TotalsOut
    payment: PaymentOut | None
    shipments: list[ShipmentOut]
    contact_hint: str | None = None
    ship_to_country: str | None = None
    can_refresh: bool = False


class ContactOut(BaseModel):
    email: str | None
    phone: str | None


class EventOut(BaseModel):
    type: str
    from_status: str | None
    to_status: str | None
    actor: str
    data: dict[str, Any]
    created_at: datetime


class PaymentRecordOut(BaseModel):
    """One incoming payment recorded for the order (every instruction's, late and dropped ones too)."""

    method: str
    asset: str
    reference: str
    amount: str
    confirmations: int
    late: bool
    dropped: bool
    received_at: datetime


class RefundLineOut(BaseModel):
    sku: str
    quantity: int
    restocked: bool


class RefundOut(BaseModel):
    id: str
    amount: str
    currency: str
    state: str  # pending | succeeded | failed | recorded
    method: str
    kind: str
    provider_reference: str | None
    reference: str | None
    reason: str
    restock: bool
    lines: list[RefundLineOut]
    claim_url: str | None = None  # BTCPay: where the buyer claims the refund
    detail: str | None = None  # why a provider refund failed
    created_at: datetime


class OperatorOrderOut(TrackingOut):
    contact: ContactOut
    delivery: dict[str, str] | None
    events: list[EventOut]
    source: str
    external_id: str | None = None  # the order's id in its channel (intake); none for guest orders
    accepted_policies: list[str]
    needs_attention: bool
    attention_reason: str | None
    payments: list[PaymentRecordOut] = Field(default_factory=list)
    test: bool = False  # a channel's test order: holds no stock, sends nothing, counts in no report
    refunds: list[RefundOut] = Field(default_factory=list)
    refunded_amount: str = "0"


class OrderSummaryOut(BaseModel):
    number: str
    status: str
    total: str
    currency: str
    source: str
    needs_attention: bool
    attention_reason: str | None = None  # why the operator should look (late, over, partial payment)
    created_at: datetime
    test: bool = False  # a channel's test order
    customer_name: str | None = None  # the delivery name
    email: str | None = None
    phone: str | None = None
    items_count: int = 0  # units over all lines
    payment_method: str | None = None
    discount: str = "0"  # bundle discounts taken off the subtotal (the total is after them)
    refunded: str = "0"  # what accepted refunds give back


class OrderListOut(BaseModel):
    items: list[OrderSummaryOut]
    next: str | None = None  # pass as `after` for the next page; None on the last
