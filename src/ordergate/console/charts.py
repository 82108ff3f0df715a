"""Charts drawn on the server as SVG: no script, no chart library, no inline styles (colours come
from app.css classes, so the page's Content-Security-Policy holds). Each chart names itself for
screen readers (title, desc) and the page shows the same numbers as a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from ordergate.analytics.schemas import ChannelFunnelOut, FunnelReportOut

SPAN = 70.0  # percent of the chart's width the longest bar takes: room for "account 1,234" after it
BAR = 18
GROUP = 74
STEP_NAMES = {
    "checkout_opened": "Checkout opened",
    "contact_given": "Contact given",
    "quote_shown": "Quote shown",
    "order_created": "Order created",
    "funded": "Paid (funded)",
    "completed": "Completed",
}
RATE_NAMES = {
    "completion_rate": "Checkout completion (orders ÷ checkouts)",
    "funded_rate": "Paid orders (paid ÷ orders)",
    "conversion": "Conversion (paid ÷ checkouts)",
}


@dataclass(frozen=True)
class Bar:
    series: str  # "guest" or "account": the CSS class that colours it
    value: float
    text: str


@dataclass(frozen=True)
class Group:
    label: str
    bars: Sequence[Bar]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def grouped_bars(*, chart_id: str, title: str, desc: str, groups: Sequence[Group], top: float) -> Markup:
    """Horizontal bars, one group per label, one bar per series; `top` is the full-width value.

    Widths are percentages and the SVG has no viewBox, so its text keeps the page's size on a
    phone and on a desktop alike."""
    height = len(groups) * GROUP + 4
    parts = [
        f'<svg class="chart-svg" width="100%" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for n, group in enumerate(groups):
        y = n * GROUP
        parts.append(f'<text class="chart-label" x="0" y="{y + 16}">{escape(group.label)}</text>')
        for m, bar in enumerate(group.bars):
            by = y + 24 + m * (BAR + 4)
            share = 0.0 if top <= 0 else max(min(bar.value / top, 1.0), 0.0) * SPAN
            if share > 0:
                share = max(share, 0.5)  # a non-zero value is never invisible
                parts.append(
                    f'<rect class="chart-bar bar-{escape(bar.series)}" x="0" y="{by}" '
                    f'width="{share:.2f}%" height="{BAR}" rx="3"/>'
                )
            parts.append(
                f'<text class="chart-value" x="{share:.2f}%" dx="{6 if share else 0}" y="{by + BAR - 4}">'
                f"{escape(bar.text)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def _channels(report: FunnelReportOut) -> list[ChannelFunnelOut]:
    return list(report.channels)


def funnel_chart(report: FunnelReportOut, number: Callable[[int], str]) -> Markup:
    """Each funnel step's count, guest next to account."""
    channels = _channels(report)
    groups = []
    for step in STEP_NAMES:
        bars = []
        for channel in channels:
            count = next((s.count for s in channel.steps if s.step == step), 0)
            bars.append(Bar(channel.channel, float(count), f"{channel.channel} {number(count)}"))
        groups.append(Group(STEP_NAMES[step], bars))
    top = max((b.value for g in groups for b in g.bars), default=0.0)
    summary = "; ".join(
        f"{c.channel}: {c.checkouts_opened} checkouts opened, {c.orders_created} orders created, "
        f"{c.orders_funded} paid, {c.orders_completed} completed"
        for c in channels
    )
    return grouped_bars(
        chart_id="funnel-chart",
        title="Checkout funnel, guest and account buyers",
        desc=f"Count at each step. {summary}.",
        groups=groups,
        top=top,
    )


def rates_chart(report: FunnelReportOut) -> Markup:
    """Completion, paid and conversion rates, guest next to account, on a 0–100% scale."""
    channels = _channels(report)
    groups = []
    for key, name in RATE_NAMES.items():
        bars = []
        for channel in channels:
            value = getattr(channel, key)
            bars.append(Bar(channel.channel, float(value or 0), f"{channel.channel} {_percent(value)}"))
        groups.append(Group(name, bars))
    summary = "; ".join(
        f"{c.channel}: completion {_percent(c.completion_rate)}, paid {_percent(c.funded_rate)}, "
        f"conversion {_percent(c.conversion)}"
        for c in channels
    )
    return grouped_bars(
        chart_id="rates-chart",
        title="Completion and conversion rates, guest and account buyers",
        desc=f"Rates out of 100%. {summary}.",
        groups=groups,
        top=1.0,
    )


def percent(value: float | None) -> str:
    return _percent(value)
