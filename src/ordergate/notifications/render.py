"""Rendering an outbox message from the template files: what it tells is read when it is sent.

HTML templates escape every value; text and SMS templates drop control characters from every
value. Tracking links are unsealed here, in the worker's memory, and go nowhere but the message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ordergate import clock, money
from ordergate.errors import NotFound
from ordergate.notifications.errors import NothingToSend
from ordergate.notifications.models import SMS, OutboxMessage
from ordergate.notifications.sealing import SealBroken, unseal
from ordergate.notifications.service import (
    ORDER_LINKS,
    PAYMENT_EXPIRED,
    PAYMENT_EXPIRING,
    VERIFICATION_CODE,
    link_context,
    secret_context,
)
from ordergate.orders.models import Order
from ordergate.orders.service import load_order
from ordergate.orders.status import OrderStatus
from ordergate.orders.views import tracking_url
from ordergate.payments.models import PaymentInstruction
from ordergate.payments.service import active_instruction, confirming, standing
from ordergate.payments.wording import payment_wording
from ordergate.security import hash_token, same_secret
from ordergate.settings import Settings
from ordergate.stores.models import Store

TEMPLATES = Path(__file__).parent / "templates"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
SPACE = re.compile(r"\s+")
BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")
MAX_LINKS = 20
STATUS_LABELS: dict[str, str] = {
    OrderStatus.AWAITING_PAYMENT: "awaiting payment",
    OrderStatus.FUNDED: "paid",
    OrderStatus.SHIPPED: "shipped",
    OrderStatus.COMPLETED: "completed",
    OrderStatus.EXPIRED: "payment window closed",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REFUNDED: "refunded",
}
CONFIRMING_LABEL = "payment received, confirming"  # paid in full: nothing to pay, never "awaiting payment"


def _plain(value: Any) -> Any:
    if isinstance(value, Markup):  # already-escaped output of a macro
        return value
    return CONTROL.sub("", "" if value is None else str(value))


_loader = FileSystemLoader(TEMPLATES)
_html = Environment(
    loader=_loader, autoescape=True, undefined=StrictUndefined, finalize=_plain, trim_blocks=True
)
# Text and SMS are not markup: nothing to escape but control characters, which finalize drops.
_text = Environment(
    loader=_loader,
    autoescape=False,  # noqa: S701
    undefined=StrictUndefined,
    finalize=_plain,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None
    sender_name: str
    # Every secret in the message (tracking tokens, codes): scrubbed from any error text.
    secrets: tuple[str, ...]


def _when(value: datetime) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC")


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[name](template.new_context(context)))


def render_templates(kind: str, channel: str, context: dict[str, Any]) -> tuple[str, str, str | None]:
    """(subject, text, html) of `kind` for `channel`; SMS has text only."""
    if channel == SMS:
        text = _text.get_template(f"sms/{kind}.txt").render(context)
        return "", SPACE.sub(" ", text).strip(), None
    text_template = _text.get_template(f"email/{kind}.txt")
    subject = SPACE.sub(" ", _block(text_template, "subject", context)).strip()
    text = BLANK_LINES.sub("\n\n", text_template.render(context)).strip() + "\n"
    html = _html.get_template(f"email/{kind}.html").render({**context, "subject": subject})
    return subject, text, html


SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
UNSAFE_SCHEMES = ("javascript", "vbscript", "data", "file")


def safe_link(uri: str | None) -> str | None:
    """A payment URI to link (a wallet's `bitcoin:`, `sandbox:`, or https), never a script link."""
    match = SCHEME.match(uri or "")
    if uri is None or match is None or match.group(1).lower() in UNSAFE_SCHEMES:
        return None
    return uri


def _payment(store: Store, order: Order, instruction: PaymentInstruction | None) -> dict[str, Any] | None:
    if instruction is None:
        return None
    label = next((m.label for m in store.payment_methods if m.key == instruction.method), instruction.method)
    details = instruction.details or {}
    amount = money.display(
        money.quantize(instruction.amount, instruction.asset), instruction.asset, store.locale
    )
    reference = details.get("reference") or order.number
    # What each kind of payment says, and how it shows its destination (an IBAN in groups of four;
    # an address as it is; a card payment none): payments.wording, shared with the order page.
    words = payment_wording(
        kind=instruction.kind,
        amount=amount,
        destination=instruction.destination,
        reference=reference,
        required_confirmations=instruction.required_confirmations,
        expires_at=instruction.expires_at,
        expires_text=_when(instruction.expires_at),
        now=clock.now(),
    )
    return {
        "kind": instruction.kind,
        "way": words.way,
        "ready": words.ready,
        "action": words.action,
        "short": words.short,
        "settles": words.settles,
        "label": label,
        "asset": instruction.asset,
        "amount": amount,
        "destination": words.destination,
        "uri": safe_link(instruction.uri) if words.ready else None,
        "required_confirmations": instruction.required_confirmations,
        "expires_at": _when(instruction.expires_at),
        "account_name": details.get("account_name"),
        "bic": details.get("bic"),
        "reference": reference,
    }


def _order_context(store: Store, order: Order) -> dict[str, Any]:
    def fmt(amount: Any) -> str:
        return money.display(money.quantize(amount, order.currency), order.currency, store.locale)

    return {
        "number": order.number,
        "status": order.status,
        "status_label": STATUS_LABELS.get(order.status, order.status),
        "items": [
            {
                "name": line.name,
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": fmt(line.unit_price),
                "line_total": fmt(line.line_total),
            }
            for line in order.lines
        ],
        "totals": {
            "subtotal": fmt(order.subtotal),
            "discounts": [
                {"label": str(d.get("label", "")), "amount": fmt(Decimal(str(d.get("amount", "0"))))}
                for d in order.discounts or []
            ],
            "discount": fmt(order.discount),
            "shipping": fmt(order.shipping),
            "total": fmt(order.total),
        },
        "payment": _payment(store, order, active_instruction(order)),
        "shipments": [
            {"carrier": s.carrier, "tracking_number": s.tracking_number, "shipped_at": _when(s.shipped_at)}
            for s in order.shipments
        ],
    }


def _refund(store: Store, refund: Any) -> dict[str, Any] | None:
    if not isinstance(refund, dict):
        return None
    currency = str(refund.get("currency") or "")
    amount = money.display(
        money.quantize(Decimal(str(refund.get("amount") or "0")), currency), currency, store.locale
    )
    claim = refund.get("claim_url")
    return {
        "amount": amount,
        "claim_url": claim if isinstance(claim, str) and claim.startswith(("https://", "http://")) else None,
        "lines": refund.get("lines") or [],
    }


def order_token(settings: Settings, order: Order) -> str | None:
    """The order's token, opened from its seal; None for an order that has no tracking link here
    (another channel's order)."""
    if order.link_seal is None:
        return None
    token = unseal(settings, order.link_seal, context=link_context(order.token_hash))
    if not same_secret(hash_token(token), order.token_hash):
        raise SealBroken("the sealed link does not open this order")
    return token


async def _links(
    session: AsyncSession, store: Store, message: OutboxMessage, settings: Settings
) -> tuple[list[dict[str, Any]], list[str]]:
    # Addresses match whatever the case of their local part (as every mail provider treats them).
    matches = (
        Order.phone == message.recipient
        if message.channel == SMS
        else func.lower(Order.email) == message.recipient.lower()
    )
    orders = await session.scalars(
        select(Order)
        .where(Order.store_id == store.id, matches, Order.link_seal.is_not(None))
        .options(selectinload(Order.instructions))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(MAX_LINKS)
    )
    links, tokens = [], []
    for order in orders:
        token = order_token(settings, order)
        if token is None:
            continue
        tokens.append(token)
        links.append(
            {
                "number": order.number,
                "status_label": (
                    CONFIRMING_LABEL if confirming(order) else STATUS_LABELS.get(order.status, order.status)
                ),
                "created_at": _when(order.created_at),
                "tracking_url": tracking_url(settings, store, token),
            }
        )
    return links, tokens


def _confirming(message: OutboxMessage, order: Order) -> dict[str, Any]:
    """Paid in full, in time, waiting for confirmations: the message says so and never asks to pay
    again (no payment details; no reminder at all)."""
    current = active_instruction(order)
    if current is None or order.status != OrderStatus.AWAITING_PAYMENT:
        return {}
    missing = standing(current, order_status=order.status).confirmations_missing
    if not missing:
        return {}
    if message.kind == PAYMENT_EXPIRING:
        raise NothingToSend("paid in full before the reminder went out (confirming)")
    plural = "s" if missing != 1 else ""
    words = f"Payment received, waiting for {missing} more confirmation{plural}."
    return {"payment": None, "confirming": words}


async def render(session: AsyncSession, message: OutboxMessage, settings: Settings) -> Rendered:
    """Raises NothingToSend when the message has nothing left to say, SealBroken when a secret
    cannot be opened with this server's key."""
    store = await session.scalar(
        select(Store).where(Store.id == message.store_id).options(selectinload(Store.payment_methods))
    )
    if store is None:
        raise NothingToSend("the store is gone")
    channels = getattr(store, "notification_channels", None)
    if channels is not None and message.channel not in channels:
        raise NothingToSend(f"the store sends no {message.channel} messages")
    payload = message.payload or {}
    context: dict[str, Any] = {"store": {"name": store.name}}
    secrets: list[str] = []
    if message.kind == VERIFICATION_CODE:
        if message.sealed is None:
            raise SealBroken("the code is no longer in the outbox")
        code = unseal(settings, message.sealed, context=secret_context(message.dedupe_key))
        secrets.append(code)
        link = safe_link(payload.get("verify_url"))
        context.update(
            code=code,
            valid_minutes=payload.get("valid_minutes"),
            verify_link=f"{link}#code={code}" if link else None,
        )
    elif message.kind == ORDER_LINKS:
        links, tokens = await _links(session, store, message, settings)
        if not links:
            raise NothingToSend("no order matched this contact")
        secrets += tokens
        context["orders"] = links
    else:
        try:
            order = await load_order(session, store, order_id=message.order_id)
        except NotFound:
            raise NothingToSend("the order is gone") from None
        context.update(_order_context(store, order), confirming=None)
        context.update(_confirming(message, order))
        if message.kind == PAYMENT_EXPIRING:
            instruction = next((i for i in order.instructions if i.id == payload.get("instruction_id")), None)
            if (
                order.status != OrderStatus.AWAITING_PAYMENT
                or instruction is None
                or instruction.superseded_at
            ):
                raise NothingToSend("paid, expired or renewed before the reminder went out")
            context["payment"] = _payment(store, order, instruction)
        if message.kind == PAYMENT_EXPIRED and order.status != OrderStatus.EXPIRED:
            raise NothingToSend("the buyer already asked for a new payment instruction")
        token = order_token(settings, order)
        url = tracking_url(settings, store, token) if token else None
        if token:
            secrets.append(token)
        context.update(
            tracking_url=url,
            refresh_url=f"{url}#refresh" if url else None,
            reason=payload.get("reason"),
            was_paid=payload.get("from_status") in (OrderStatus.FUNDED, OrderStatus.SHIPPED),
            refund=_refund(store, payload.get("refund")),
        )
    subject, text, html = render_templates(message.kind, message.channel, context)
    return Rendered(subject, text, html, store.name, tuple(secrets))
