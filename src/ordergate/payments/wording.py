"""How each kind of payment is put to the buyer: one presenter for the order page, emails and SMS.

A card payment is made on the order page (never "pay to pi_..."); a bank transfer names the
account holder, the IBAN in groups of four, the reference to quote and a deadline in days, and
speaks of no confirmations; an on-chain payment names its address and the confirmations it needs.
Details a remote provider is still preparing are never shown as an empty destination."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

# Which way of paying each payment method kind is.
WAYS = {"stripe": "card", "manual": "bank", "onchain": "onchain", "btcpay": "onchain", "sandbox": "onchain"}
DAY_SECONDS = 86400


@dataclass(frozen=True)
class PaymentWording:
    way: str  # card | bank | onchain
    ready: bool  # the details to pay with are there (a provider may still be preparing them)
    action: str  # one sentence: what the buyer does now
    short: str  # the same for an SMS
    destination: str | None  # what to pay to, as people read it; None for a card or while preparing
    destination_label: str | None  # "IBAN", "Address"
    settles: str  # when the order counts as paid
    shows_confirmations: bool
    deadline_days: int | None  # bank transfers: whole days left to pay


def group_iban(iban: str) -> str:
    """An IBAN as banks print it: groups of four."""
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def days_left(expires_at: datetime, now: datetime) -> int:
    return max(1, math.ceil((expires_at - now).total_seconds() / DAY_SECONDS))


def payment_wording(
    *,
    kind: str,
    amount: str,
    destination: str,
    reference: str,
    required_confirmations: int,
    expires_at: datetime,
    expires_text: str,
    now: datetime,
) -> PaymentWording:
    """The words for one payment instruction (`amount` and `expires_text` already formatted)."""
    way = WAYS.get(kind, "onchain")
    if way == "card":
        return PaymentWording(
            way=way,
            ready=True,
            action=f"Pay {amount} by card on your order page before {expires_text}.",
            short=f"Pay {amount} by card on your order page by {expires_text}",
            destination=None,
            destination_label=None,
            settles="The order counts as paid as soon as the card payment goes through.",
            shows_confirmations=False,
            deadline_days=None,
        )
    if way == "bank":
        days = days_left(expires_at, now)
        within = f"within {days} day{'s' if days != 1 else ''}"
        return PaymentWording(
            way=way,
            ready=bool(destination),
            action=(
                f"Pay {amount} by bank transfer {within} (by {expires_text}), quoting reference {reference}."
            ),
            short=f"Pay {amount} by bank transfer {within}, reference {reference}",
            destination=group_iban(destination) if destination else None,
            destination_label="IBAN",
            settles="The order counts as paid once the store sees your transfer arrive on its account.",
            shows_confirmations=False,
            deadline_days=days,
        )
    ready = bool(destination)
    plural = "s" if required_confirmations != 1 else ""
    return PaymentWording(
        way=way,
        ready=ready,
        action=(
            f"Pay {amount} before {expires_text} to the address below."
            if ready
            else f"Pay {amount} before {expires_text}: your payment address is being prepared, "
            "open your order page to see it."
        ),
        short=f"Pay {amount} by {expires_text}",
        destination=destination or None,
        destination_label="Address",
        settles=f"The order counts as paid after {required_confirmations} confirmation{plural}.",
        shows_confirmations=True,
        deadline_days=None,
    )
