"""Funnel report shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from ordergate.recommendations.schemas import SuggestionFunnelOut


class StepOut(BaseModel):
    step: str
    count: int
    lost: int
    drop_off: float | None


class ChannelFunnelOut(BaseModel):
    channel: str
    checkouts_opened: int
    contact_given: int
    quote_shown: int
    orders_created: int
    orders_funded: int
    orders_completed: int
    completion_rate: float | None
    funded_rate: float | None
    conversion: float | None
    average_order_value: str | None
    revenue_created: str
    median_seconds_to_order: float | None
    steps: list[StepOut]


class FunnelReportOut(BaseModel):
    store: str
    currency: str
    since: datetime
    until: datetime
    channels: list[ChannelFunnelOut]
    suggestions: SuggestionFunnelOut | None = None
