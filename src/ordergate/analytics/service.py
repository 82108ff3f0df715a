"""The funnel, derived from what checkouts and orders already record: no token or contact data is read.

Steps: checkout opened (checkouts.created_at), contact given (contact_given_at), quote shown (quoted_at),
order created (orders from a checkout), funded and completed (order_events). Guest vs account is the
order's source (`web-guest` / `web-account`) and the checkout's account link, fixed when it happened."""

from __future__ import annotations

import csv
import io
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, money
from ordergate.analytics.schemas import ChannelFunnelOut, FunnelReportOut, StepOut
from ordergate.checkout.models import Checkout
from ordergate.errors import Unprocessable
from ordergate.orders.models import Order, OrderEvent
from ordergate.orders.status import OrderStatus
from ordergate.recommendations.report import suggestion_funnel
from ordergate.stores.models import Store

CHANNELS = ("guest", "account")
SOURCE_OF = {"guest": "web-guest", "account": "web-account"}
PERIOD = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`30d`, `12h`, `2w`, or an ISO date/time (UTC when no offset is given)."""
    now = now or clock.now()
    match = PERIOD.match(text)
    if match:
        return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Unprocessable(
            "since: give a period such as 30d, 12h, 2w, or a date such as 2026-11-01", field="since"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=now.tzinfo)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class _Tally:
    opened: int = 0
    contact: int = 0
    quoted: int = 0
    created: int = 0
    funded: int = 0
    completed: int = 0
    totals: list[Decimal] = field(default_factory=list)
    seconds_to_order: list[float] = field(default_factory=list)


async def funnel_report(
    session: AsyncSession, store: Store, *, since: datetime, until: datetime | None = None
) -> FunnelReportOut:
    until = until or clock.now()
    tallies = {c: _Tally() for c in CHANNELS}

    channel_of_checkout = case((Checkout.account_id.is_(None), "guest"), else_="account")
    rows = await session.execute(
        select(
            channel_of_checkout,
            func.count(),
            func.count(Checkout.contact_given_at),
            func.count(Checkout.quoted_at),
        )
        .where(Checkout.store_id == store.id, Checkout.created_at >= since, Checkout.created_at < until)
        .group_by(channel_of_checkout)
    )
    for channel, opened, contact, quoted in rows:
        t = tallies[channel]
        t.opened, t.contact, t.quoted = int(opened), int(contact), int(quoted)

    web_sources = list(SOURCE_OF.values())
    channel_of_source = {v: k for k, v in SOURCE_OF.items()}
    orders = await session.execute(
        select(Order.id, Order.source, Order.total, Order.created_at, Checkout.created_at)
        .outerjoin(Checkout, Checkout.order_id == Order.id)
        .where(
            Order.store_id == store.id,
            Order.source.in_(web_sources),
            Order.created_at >= since,
            Order.created_at < until,
        )
    )
    order_channel: dict[int, str] = {}
    for order_id, source, total, created_at, checkout_created in orders:
        channel = channel_of_source[source]
        order_channel[order_id] = channel
        t = tallies[channel]
        t.created += 1
        t.totals.append(total)
        if checkout_created is not None:
            t.seconds_to_order.append((created_at - checkout_created).total_seconds())

    if order_channel:
        reached = await session.execute(
            select(OrderEvent.to_status, Order.source, func.count(func.distinct(OrderEvent.order_id)))
            .join(Order, Order.id == OrderEvent.order_id)
            .where(
                Order.store_id == store.id,
                Order.source.in_(web_sources),
                Order.created_at >= since,
                Order.created_at < until,
                OrderEvent.type == "status",
                OrderEvent.to_status.in_((OrderStatus.FUNDED, OrderStatus.COMPLETED)),
            )
            .group_by(OrderEvent.to_status, Order.source)
        )
        for status, source, count in reached:
            t = tallies[channel_of_source[source]]
            if status == OrderStatus.FUNDED:
                t.funded = int(count)
            else:
                t.completed = int(count)

    return FunnelReportOut(
        store=store.slug,
        currency=store.currency,
        since=since,
        until=until,
        channels=[_channel_out(channel, tallies[channel], store.currency) for channel in CHANNELS],
        suggestions=await suggestion_funnel(session, store, sources=web_sources, since=since, until=until),
    )


def _channel_out(channel: str, t: _Tally, currency: str) -> ChannelFunnelOut:
    revenue = money.quantize(sum(t.totals, Decimal(0)), currency)
    steps = [
        ("checkout_opened", t.opened),
        ("contact_given", t.contact),
        ("quote_shown", t.quoted),
        ("order_created", t.created),
        ("funded", t.funded),
        ("completed", t.completed),
    ]
    step_out = []
    previous: int | None = None
    for name, count in steps:
        lost = max(previous - count, 0) if previous is not None else 0
        step_out.append(
            StepOut(step=name, count=count, lost=lost, drop_off=_ratio(lost, previous) if previous else None)
        )
        previous = count
    return ChannelFunnelOut(
        channel=channel,
        checkouts_opened=t.opened,
        contact_given=t.contact,
        quote_shown=t.quoted,
        orders_created=t.created,
        orders_funded=t.funded,
        orders_completed=t.completed,
        completion_rate=_ratio(t.created, t.opened),
        funded_rate=_ratio(t.funded, t.created),
        conversion=_ratio(t.funded, t.opened),
        average_order_value=money.text(revenue / len(t.totals), currency) if t.totals else None,
        revenue_created=money.text(revenue, currency),
        median_seconds_to_order=round(statistics.median(t.seconds_to_order), 1)
        if t.seconds_to_order
        else None,
        steps=step_out,
    )


CSV_COLUMNS = (
    "channel",
    "checkouts_opened",
    "contact_given",
    "quote_shown",
    "orders_created",
    "orders_funded",
    "orders_completed",
    "completion_rate",
    "funded_rate",
    "conversion",
    "average_order_value",
    "revenue_created",
    "median_seconds_to_order",
)


def report_csv(report: FunnelReportOut) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["store", "currency", "since", "until", *CSV_COLUMNS])
    for channel in report.channels:
        row = channel.model_dump()
        writer.writerow(
            [report.store, report.currency, report.since.isoformat(), report.until.isoformat()]
            + ["" if row[c] is None else row[c] for c in CSV_COLUMNS]
        )
    return out.getvalue()
