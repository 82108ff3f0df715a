"""What the order page's payment box shows, per state and per kind of payment: a pay prompt only
while something is still to pay; "payment received, waiting for N more confirmations" once the full
amount has arrived in time; each kind in its own words (payments.wording: a bank transfer in days,
its IBAN grouped, no confirmations)."""

from __future__ import annotations

from typing import Any

from ordergate.orders.schemas import TrackingOut
from ordergate.orders.status import OrderStatus
from ordergate.web.render import qr_svg
from ordergate.web.wording import (
    CONFIRMING_HEADLINE,
    STATUS_HEADLINES,
    STATUS_LABELS,
    payment_words,
    waiting_for_confirmations,
)


def payment_box(view: TrackingOut) -> dict[str, Any]:
    """The tracking template's payment context (and the page's headline, which follows it)."""
    payment = view.payment
    # Paid in full, waiting for confirmations: not payable (no pay prompt, QR or countdown).
    confirming = payment is not None and payment.confirmations_missing > 0
    payable = (
        payment is not None
        and payment.state in ("pending", "partial")
        and view.status == OrderStatus.AWAITING_PAYMENT
        and not confirming
    )
    payment_qr = None
    if payable and payment is not None and payment.uri:
        payment_qr = qr_svg(payment.uri, f"QR code to pay {payment.amount} {payment.asset}")
    headline = STATUS_HEADLINES.get(view.status, STATUS_LABELS.get(view.status, view.status))
    return {
        "payment": payment,
        "payable": payable,
        "payment_qr": payment_qr,
        "confirming": confirming,
        "confirming_text": waiting_for_confirmations(payment.confirmations_missing) if payment else "",
        "headline": CONFIRMING_HEADLINE if confirming else headline,
        # Each kind of payment in its own words (payments.wording, shared with emails and texts).
        "wording": payment_words(view),
    }
