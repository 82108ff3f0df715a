"""What the buyer pages say: reasons, milestones and statuses in a buyer's words."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ordergate import clock
from ordergate.orders.schemas import TrackingOut
from ordergate.orders.status import OrderStatus
from ordergate.payments.wording import DAY_SECONDS, WAYS, PaymentWording, payment_wording
from ordergate.settings import Settings
from ordergate.stores.models import Store
from ordergate.stores.service import payment_window

GUEST_CHECKOUT_REASONS = {
    "disabled": "This store is not taking guest orders at the moment.",
    "account_required": "This store asks buyers to order from an account, so checking out as a guest "
    "is not offered here.",
    "no_ready_payment_method": "This store cannot take payments right now, so it is not accepting orders. "
    "Please try again later.",
}


def guest_checkout_reason(reason: str | None, note: str | None = None) -> str:
    """What buyers read when they cannot check out as guests: the store's own note when it turned
    guest checkout off and left one, else the standard sentence for the reason."""
    if reason == "disabled" and note:
        return note
    return GUEST_CHECKOUT_REASONS.get(reason or "", "Guest checkout is not available in this store.")


@dataclass(frozen=True)
class Milestone:
    status: OrderStatus
    title: str
    proves: str
    does_not_prove: str


MILESTONES = (
    Milestone(
        OrderStatus.AWAITING_PAYMENT,
        "Order placed",
        "The store has your order and is holding the items for you until the payment deadline.",
        "It does not mean you have paid. If the deadline passes unpaid, the items go back on sale.",
    ),
    Milestone(
        OrderStatus.FUNDED,
        "Payment confirmed",
        "Your payment arrived in full and is confirmed: the items are yours and the store can ship them.",
        "It does not mean the parcel has left yet.",
    ),
    Milestone(
        OrderStatus.SHIPPED,
        "Shipped",
        "The store says it handed your parcel to the carrier, with the evidence shown below.",
        "It does not prove the parcel has reached you: follow it with the carrier's tracking number.",
    ),
    Milestone(
        OrderStatus.COMPLETED,
        "Completed",
        "The store has closed the order as delivered and done.",
        "If something is wrong, you can still contact the store: quote your order number.",
    ),
)

STATUS_HEADLINES: dict[str, str] = {
    OrderStatus.AWAITING_PAYMENT: "Thank you! Now pay to confirm your order",
    OrderStatus.FUNDED: "Payment confirmed",
    OrderStatus.SHIPPED: "Your order is on its way",
    OrderStatus.COMPLETED: "Order completed",
    OrderStatus.EXPIRED: "The payment time ran out",
    OrderStatus.CANCELLED: "This order was cancelled",
    OrderStatus.REFUNDED: "This order was refunded",
}

STATUS_LABELS: dict[str, str] = {
    OrderStatus.AWAITING_PAYMENT: "Awaiting payment",
    OrderStatus.FUNDED: "Paid",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.EXPIRED: "Payment time ran out",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REFUNDED: "Refunded",
}

PAYMENT_STATES = {
    "pending": "Waiting for your payment",
    "partial": "Part of the amount has arrived",
    "confirmed": "Payment confirmed",
    "expired": "No longer payable",
}


def waiting_for_confirmations(missing: int) -> str:
    """The words for a payment that has fully arrived but is not yet confirmed: never "pay"."""
    return f"Payment received, waiting for {missing} more confirmation{'s' if missing != 1 else ''}"


CONFIRMING_HEADLINE = "Thank you! Your payment has arrived"
CONFIRMING_LABEL = "Payment received, confirming"  # the status of an order paid in full, still confirming

OPEN_STATUSES = (OrderStatus.AWAITING_PAYMENT, OrderStatus.FUNDED, OrderStatus.SHIPPED)


def payment_words(view: TrackingOut) -> PaymentWording | None:
    """The payment's words on the order page: the same the buyer's emails and texts use."""
    p = view.payment
    if p is None:
        return None
    return payment_wording(
        kind=p.kind,
        amount=f"{p.amount} {p.asset}",
        destination=p.destination,
        reference=str(p.details.get("reference") or view.number),
        required_confirmations=p.required_confirmations,
        expires_at=p.expires_at,
        expires_text=p.expires_at.isoformat(),
        now=clock.now(),
    )


def method_hint(kind: str, *, confirmations: int, window_seconds: int) -> str:
    """What choosing a payment method at checkout means, in that way of paying's own words: a card
    is paid on the next page, a bank transfer within days and with no confirmations, a wallet
    payment to an address with the confirmations it needs."""
    way = WAYS.get(kind, "onchain")
    if way == "card":
        return "Pay by card on your order page, which opens as soon as you place the order."
    if way == "bank":
        days = max(1, math.ceil(window_seconds / DAY_SECONDS))
        return (
            f"Transfer from your bank within {days} day{'s' if days != 1 else ''}: the account details "
            "and the reference to quote appear after you place the order."
        )
    plural = "s" if confirmations != 1 else ""
    return (
        "Pay from a wallet: the address and a QR code appear after you place the order. "
        f"Needs {confirmations} confirmation{plural}."
    )


def method_hints(store: Store, settings: Settings) -> dict[str, str]:
    """Each of the store's payment methods' hint at checkout, by method id."""
    return {
        m.key: method_hint(
            m.kind, confirmations=m.required_confirmations, window_seconds=payment_window(store, m, settings)
        )
        for m in store.payment_methods
    }
