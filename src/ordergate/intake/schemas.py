"""Intake shapes: the canonical order every source is mapped to (and the generic source's body),
the answer to a delivery, and the operator's quarantine, replay and counts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Money = Annotated[Decimal, Field(max_digits=20, decimal_places=8, allow_inf_nan=False)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
CanonicalStatus = Literal["pending", "paid", "fulfilled", "completed", "cancelled"]
Event = Literal["create", "update", "cancel"]


class _Canonical(BaseModel):
    # Our own shape: an unknown field is a typo worth quarantining, not something to ignore.
    model_config = ConfigDict(extra="forbid")


class CanonicalLine(_Canonical):
    sku: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None
    # What the channel calls the item when it has no SKU (`variant:<id>`): a mapping can name it.
    external_ref: Annotated[str, StringConstraints(max_length=128)] | None = None
    name: Text | None = None
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    unit_price: Money | None = Field(default=None, ge=0)
    line_total: Money | None = Field(default=None, ge=0)


class CanonicalContact(_Canonical):
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None


class CanonicalDelivery(_Canonical):
    name: Text | None = None
    address_line1: Text | None = None
    address_line2: Text | None = None
    city: Text | None = None
    region: Text | None = None
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    country: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=2)] | None = (
        None
    )
    instructions: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class CanonicalShipment(_Canonical):
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class CanonicalOrder(_Canonical):
    """One order event from any channel. Only types are checked here; what must be present, and
    whether it adds up, is for the quality rules (intake/rules.py) to say, each with its owner."""

    event: Event = "create"
    event_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None
    name: Annotated[str, StringConstraints(max_length=64)] | None = None  # the channel's own number
    store: Annotated[str, StringConstraints(max_length=64)] | None = None
    status: CanonicalStatus = "pending"
    occurred_at: AwareDatetime | None = None
    currency: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=3)] | None = (
        None
    )
    contact: CanonicalContact | None = None
    delivery: CanonicalDelivery | None = None
    lines: list[CanonicalLine] = Field(default_factory=list, max_length=500)
    shipping: Money = Field(default=Decimal(0), ge=0)
    fees: Money = Decimal(0)  # may be negative (a fee line that is a discount)
    discount: Money = Field(default=Decimal(0), ge=0)
    tax: Money = Field(default=Decimal(0), ge=0)  # added on top of the lines; 0 when prices include it
    total: Money | None = Field(default=None, ge=0)
    payment_method: Annotated[str, StringConstraints(max_length=64)] | None = None
    shipment: CanonicalShipment | None = None
    test: bool = False  # the channel's test order: recorded and shown, never booked


# --- answers ----------------------------------------------------------------------------------


class IssueOut(BaseModel):
    field: str
    rule: str
    owner: str
    message: str
    severity: Literal["block", "warn", "hold"]


class IntakeResultOut(BaseModel):
    """The answer to one delivery (202), and to one replay."""

    intake_id: str
    status: Literal["accepted", "quarantined", "duplicate"]
    order_id: str | None = None  # the order's number, as in /admin/orders/{number}
    issues: list[IssueOut]
    held: bool = False  # quarantined only until the order's create arrives, then applied
    duplicate_of: str | None = None


class PingOut(BaseModel):
    status: Literal["ping"] = "ping"


class AttemptOut(BaseModel):
    at: datetime
    actor: str
    outcome: str
    corrected: bool
    note: str
    order_id: str | None
    issues: list[dict[str, str]]


class PayloadOut(BaseModel):
    intake_id: str
    source: str
    kind: str
    topic: str
    status: str
    refusal: str | None
    external_id: str | None
    event: str | None
    received_at: datetime
    updated_at: datetime
    body_size: int
    corrected: bool
    attempts: int
    order_id: str | None
    duplicate_of: str | None
    issues: list[IssueOut]


class PayloadDetailOut(PayloadOut):
    headers: dict[str, str]
    content_type: str
    body_text: str | None = None  # the body as received, when it is UTF-8
    body_base64: str | None = None  # otherwise, byte for byte
    corrected_text: str | None = None
    history: list[AttemptOut]


class PayloadListOut(BaseModel):
    items: list[PayloadOut]


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A corrected body: a JSON value for JSON sources, or text (CSV rows with their header).
    payload: Any = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class ReplayOut(IntakeResultOut):
    replayed: bool  # false: it was already settled, nothing was done again


class BulkReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, StringConstraints(max_length=32)] | None = None
    rule: Annotated[str, StringConstraints(max_length=48)] | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class BulkReplayOut(BaseModel):
    replayed: int
    accepted: int
    quarantined: int
    items: list[ReplayOut]


class DismissIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SkuMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    sku: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class SkuMappingOut(BaseModel):
    external_sku: str
    sku: str
    origin: str
    updated_at: datetime


class SkuMappingListOut(BaseModel):
    source: str
    items: list[SkuMappingOut]


class SourceCountsOut(BaseModel):
    source: str
    kind: str
    owner: str
    enabled: bool
    counts: dict[str, int]  # payloads by status; web-guest: orders placed by guest checkout


class RuleCountsOut(BaseModel):
    rule: str
    owner: str
    severity: str
    open: int  # on payloads still in quarantine (or held)
    total: int  # on every payload's latest attempt


class IntakeStatsOut(BaseModel):
    sources: list[SourceCountsOut]
    rules: list[RuleCountsOut]
