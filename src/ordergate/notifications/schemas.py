"""Notification shapes: the lost-link request in, the operator's view of the outbox out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from ordergate.contact import ContactIn


class OrderLinksIn(ContactIn):
    """`{"email"}` or `{"phone"}` (with `phone_region` for a national number)."""


class OrderLinksOut(BaseModel):
    accepted: Literal[True] = True
    detail: str = (
        "If orders were placed with this contact, their tracking links are on their way to it, "
        "and only to it."
    )


class OutboxMessageOut(BaseModel):
    id: int
    kind: str
    channel: str
    recipient: str
    order_number: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboxListOut(BaseModel):
    items: list[OutboxMessageOut]
