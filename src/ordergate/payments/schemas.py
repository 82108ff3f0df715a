"""Payment shapes: callback acknowledgements, and the operator's view of methods and callbacks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CallbackAck(BaseModel):
    status: str  # processed | ignored | unmatched | duplicate
    event_id: str


class WalletOut(BaseModel):
    label: str
    next_index: int
    last_used_index: int | None
    unused_addresses: int
    gap_limit: int


class PaymentMethodStatusOut(BaseModel):
    id: str
    kind: str
    asset: str
    enabled: bool
    ready: bool
    reason: str | None
    warnings: list[str]
    wallet: WalletOut | None = None


class PaymentMethodStatusListOut(BaseModel):
    items: list[PaymentMethodStatusOut]


class PaymentEventOut(BaseModel):
    provider: str
    event_id: str
    event_type: str
    method: str | None
    provider_ref: str | None
    order_number: str | None
    status: str
    detail: str | None
    attempts: int
    received_at: datetime
    processed_at: datetime | None


class PaymentEventListOut(BaseModel):
    items: list[PaymentEventOut]
