"""What the console says: order events and messages in an operator's words."""

from __future__ import annotations

from typing import Any

from ordergate.orders.schemas import EventOut
from ordergate.web.wording import STATUS_LABELS

EVENT_TITLES = {
    "status": "Status changed",
    "payment_received": "Payment received",
    "payment_dropped": "Payment dropped from the chain",
    "payment_invalid": "Payment reported invalid",
    "provider_status": "Payment provider update",
    "refund_due": "Refund due",
    "refund_noted": "Refund noted",
    "refund": "Refund",
    "refund_failed": "Refund failed",
    "late_payment_accepted": "Late payment accepted",
    "attention": "Flagged for attention",
    "channel_update": "Update from the channel",
}
MESSAGE_KINDS = {
    "order_confirmation": "Order confirmation",
    "payment_received": "Payment received",
    "shipped": "Shipped",
    "completed": "Completed",
    "payment_expiring": "Payment expiring soon",
    "payment_expired": "Payment expired",
    "cancelled": "Cancelled",
    "order_links": "Tracking links",
    "verification_code": "One-time code",
    "refund": "Refund",
}
# Event data fields, in the order shown, with their labels.
DATA_LABELS = {
    "amount": "Amount",
    "asset": "Asset",
    "reference": "Reference",
    "confirmations": "Confirmations",
    "late": "Late",
    "reason": "Reason",
    "carrier": "Carrier",
    "confirmed": "Confirmed",
    "status": "Status",
    "event": "Event",
    "note": "Note",
    "destination": "Sent to",
}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return (
            ", ".join(f"{k}: {v}" for k, v in value.items())
            if isinstance(value, dict)
            else ", ".join(map(str, value))
        )
    return str(value)


def event_details(event: EventOut) -> list[tuple[str, str]]:
    """(label, value) lines for an event: the status move first, then what its data says."""
    lines: list[tuple[str, str]] = []
    if event.type == "status" and event.to_status:
        before = STATUS_LABELS.get(event.from_status or "", event.from_status or "new order")
        lines.append(("Move", f"{before} → {STATUS_LABELS.get(event.to_status, event.to_status)}"))
    data = dict(event.data or {})
    if "amount" in data and "asset" in data:
        lines.append(("Amount", f"{data.pop('amount')} {data.pop('asset')}"))
    for key, label in DATA_LABELS.items():
        if key in data and data[key] not in (None, "", {}):
            lines.append((label, _text(data.pop(key))))
    for key, value in sorted(data.items()):
        if value not in (None, "", {}):
            lines.append((key.replace("_", " ").capitalize(), _text(value)[:300]))
    return lines
