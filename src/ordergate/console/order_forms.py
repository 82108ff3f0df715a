"""The console's order forms (shipment, cancel, payment, refund) to the services' own input
schemas, and the services' refusals back beside the fields they name."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel

from ordergate.errors import DomainError
from ordergate.orders.schemas import CancelIn, OperatorOrderOut, PaymentEvidenceIn, RefundIn, ShipmentIn
from ordergate.orders.status import PAID_STATUSES, OrderStatus
from ordergate.web.forms import FormErrors, validate_part

M = TypeVar("M", bound=BaseModel)

# What an empty required field says, by form field.
REQUIRED = {
    "shipment.carrier": "Enter the carrier",
    "shipment.tracking_number": "Enter the tracking number",
    "payment.amount": "Enter the amount received",
    "payment.reference": "Enter the payment's reference (bank reference or transaction id)",
}
AMOUNT_HINT = "Enter the amount as a number, like 12.50"
REFUND_STATES = {"pending": "Pending", "succeeded": "Refunded", "failed": "Failed", "recorded": "Recorded"}


def place(exc: DomainError, errors: FormErrors, *, prefix: str, known: tuple[str, ...] | set[str]) -> None:
    """A service's error beside the form field it names (`refund.amount`), else at the top."""
    if not exc.errors:
        errors.add("", exc.detail)
        return
    for err in exc.errors:
        key = f"{prefix}.{err.field}" if prefix else err.field
        errors.add(key if key in known else "", err.message)


def _required(values: Mapping[str, str], form: str, names: tuple[str, ...], errors: FormErrors) -> None:
    for name in names:
        key = f"{form}.{name}"
        if key in REQUIRED and not values.get(name, "").strip():
            errors.add(key, REQUIRED[key])


def _parse(model: type[M], values: Mapping[str, object], form: str, errors: FormErrors) -> M | None:
    before = set(errors.fields)
    parsed = validate_part(model, values, form, errors)
    amount = f"{form}.amount"
    if amount in errors.fields and amount not in before:
        errors.fields[amount] = AMOUNT_HINT
    return parsed


def shipment_form(values: Mapping[str, str], errors: FormErrors) -> ShipmentIn | None:
    _required(values, "shipment", ("carrier", "tracking_number"), errors)
    wanted = {k: values.get(k, "") for k in ("carrier", "tracking_number", "evidence")}
    return None if errors else _parse(ShipmentIn, wanted, "shipment", errors)


def cancel_form(values: Mapping[str, str], errors: FormErrors) -> CancelIn | None:
    return _parse(CancelIn, {"reason": values.get("reason", "")}, "cancel", errors)


def payment_form(values: Mapping[str, str], errors: FormErrors) -> PaymentEvidenceIn | None:
    _required(values, "payment", ("amount", "reference"), errors)
    raw = values.get("confirmations", "").strip() or "1"
    if not raw.isdigit():
        errors.add("payment.confirmations", "Enter the number of confirmations as a whole number, like 1")
    if errors:
        return None
    wanted: dict[str, object] = {
        "amount": values.get("amount", "").strip(),
        "reference": values.get("reference", ""),
        "confirmations": int(raw),
    }
    return _parse(PaymentEvidenceIn, wanted, "payment", errors)


def refund_form(values: Mapping[str, str], errors: FormErrors) -> RefundIn | None:
    """Amount, or quantities per line (`line.<sku>`), or neither (everything not yet refunded)."""
    wanted: dict[str, object] = {"restock": bool(values.get("restock")), "reason": values.get("reason", "")}
    if values.get("amount", "").strip():
        wanted["amount"] = values["amount"].strip()
    if values.get("reference", "").strip():
        wanted["reference"] = values["reference"]
    lines = []
    for key, raw in values.items():
        if not key.startswith("line.") or not raw.strip():
            continue
        if not raw.strip().isdigit() or int(raw) <= 0:
            errors.add("refund.lines", "Enter each quantity as a whole number, like 1 (or leave it empty)")
            return None
        lines.append({"sku": key[5:], "quantity": int(raw)})
    if lines:
        wanted["lines"] = lines
    parsed = _parse(RefundIn, wanted, "refund", errors)
    for field in [f for f in errors.fields if f.startswith("refund.lines")]:
        errors.fields.setdefault("refund.lines", errors.fields.pop(field))
    return parsed


def refundable_amount(view: OperatorOrderOut) -> Decimal:
    """What can still be refunded (payments/refunds.py decides; this shows the form and its hint)."""
    reached = any(m.status == OrderStatus.FUNDED for m in view.milestones) or view.status in (
        *PAID_STATUSES,
        OrderStatus.REFUNDED,
    )
    if not reached:
        return Decimal(0)
    held = sum((Decimal(r.amount) for r in view.refunds if r.state != "failed"), Decimal(0))
    return max(Decimal(view.totals.total) - held, Decimal(0))


def refund_kind(view: OperatorOrderOut) -> str:
    """How this order's money goes back: its payment's kind (stripe, btcpay, sandbox, manual...)."""
    paid_with = [p.method for p in view.payments if not p.dropped]
    if view.payment is not None and (not paid_with or view.payment.method in paid_with):
        return view.payment.kind
    return "manual" if view.payment is not None else "channel"


FIELDS = {
    "shipment": {"shipment.carrier", "shipment.tracking_number", "shipment.evidence"},
    "cancel": {"cancel.reason"},
    "payment": {"payment.amount", "payment.reference", "payment.confirmations"},
    "refund": {"refund.amount", "refund.reference", "refund.reason", "refund.lines"},
    "complete": set(),
}
