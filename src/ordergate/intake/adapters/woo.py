"""WooCommerce order webhooks (order.created, order.updated).

WooCommerce signs the raw body: `X-WC-Webhook-Signature` is the base64 HMAC-SHA256 of it under the
webhook's secret. `X-WC-Webhook-Delivery-ID` is a hash of the webhook id and the current second, so
it names a delivery only together with its body. When a webhook is saved, WooCommerce first sends
an unsigned ping whose body is `webhook_id=<n>` and keeps the webhook only if the answer is 200.
The body is the REST v3 order."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ordergate.intake.adapters.base import (
    BadSignature,
    Envelope,
    Mapped,
    canonical,
    items,
    json_object,
    keep,
    obj,
    parse_time,
    text,
    verify_base64_hmac,
)
from ordergate.intake.rules import Finding
from ordergate.intake.schemas import CanonicalOrder

SIGNATURE = "x-wc-webhook-signature"
PING = re.compile(rb"^webhook_id=\d{1,20}$")
TOPICS = {"order.created": "create", "order.updated": "update"}
STATUSES = {
    "pending": "pending",
    "on-hold": "pending",
    "failed": "pending",  # the customer may pay again
    "checkout-draft": "pending",
    "processing": "paid",
    "completed": "fulfilled",  # WooCommerce's "fulfilled and complete": it has shipped
    "cancelled": "cancelled",
    "refunded": "cancelled",
    "trash": "cancelled",
}
KEPT = (
    "x-wc-webhook-source",
    "x-wc-webhook-topic",
    "x-wc-webhook-resource",
    "x-wc-webhook-event",
    "x-wc-webhook-id",
    "x-wc-webhook-delivery-id",
    "content-type",
    "user-agent",
)


def _address(order: Mapping[str, Any]) -> dict[str, Any] | None:
    # Orders of virtual goods have an empty shipping address: the billing one is the one we have.
    shipping = obj(order.get("shipping"))
    address = shipping if text(shipping.get("address_1")) else obj(order.get("billing"))
    if not address:
        return None
    name = " ".join(p for p in (text(address.get("first_name")), text(address.get("last_name"))) if p)
    return {
        "name": name or None,
        "address_line1": text(address.get("address_1")),
        "address_line2": text(address.get("address_2")),
        "city": text(address.get("city")),
        "region": text(address.get("state")),
        "postal_code": text(address.get("postcode")),
        "country": text(address.get("country")),
    }


def _line(li: Mapping[str, Any], currency: str | None) -> dict[str, Any]:
    """WooCommerce gives a line's subtotal (before discounts, without tax); the unit price is derived."""
    quantity, subtotal = li.get("quantity"), text(li.get("subtotal"))
    unit: Any = text(li.get("price"))
    try:
        if subtotal is not None and isinstance(quantity, int) and quantity > 0:
            unit = (Decimal(subtotal) / quantity).quantize(Decimal("0.00000001"))
    except InvalidOperation:
        unit = subtotal  # left for validation to report
    product = text(li.get("variation_id")) if li.get("variation_id") else text(li.get("product_id"))
    return {
        "sku": text(li.get("sku")),
        "external_ref": f"product:{product}" if product else None,
        "name": (text(li.get("name")) or "")[:200] or None,
        "quantity": quantity,
        "unit_price": unit,
        "line_total": subtotal,
    }


def _fees(order: Mapping[str, Any]) -> Decimal | str:
    try:
        return sum(
            (Decimal(str(obj(f).get("total") or 0)) for f in items(order.get("fee_lines"))), Decimal(0)
        )
    except InvalidOperation:
        return "not a number"


class WooAdapter:
    kind = "woo"
    http = True

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return SIGNATURE not in headers and PING.match(body.strip()) is not None

    def marks_test(self, headers: Mapping[str, str]) -> bool:
        return False  # no test flag in this channel's transport (the generic body may carry one)

    def envelope(self, headers: Mapping[str, str]) -> Envelope:
        return Envelope(
            topic=headers.get("x-wc-webhook-topic", "")[:64],
            delivery_id=headers.get("x-wc-webhook-delivery-id", "")[:128] or None,
            headers=keep(headers, KEPT),
            # WC_Webhook::get_new_delivery_id() is wp_hash(webhook id . strtotime('now')): one id
            # per webhook per second, whatever order the delivery carries.
            delivery_id_needs_body=True,
        )

    def verify(
        self, secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> BadSignature | None:
        return verify_base64_hmac(secret, headers, body, "X-WC-Webhook-Signature")

    def store_check(
        self, headers: Mapping[str, str], order: CanonicalOrder, settings: Mapping[str, Any], store: str
    ) -> list[Finding]:
        wanted = str(settings.get("site_url") or "").rstrip("/").lower()
        sent = headers.get("x-wc-webhook-source", "").rstrip("/").lower()
        if wanted and sent != wanted:
            return [
                Finding(
                    "reference.store",
                    "X-WC-Webhook-Source",
                    f"sent by site {sent or '(none)'}; this source is for {wanted}",
                )
            ]
        return []

    def map(self, topic: str, body: bytes, settings: Mapping[str, Any]) -> Mapped:
        order, found = json_object(body)
        if order is None:
            return Mapped(None, found)
        if topic not in TOPICS:
            return Mapped(
                None,
                [Finding("payload.topic", "X-WC-Webhook-Topic", f"topic {topic!r} is not handled")],
                text(order.get("id")),
            )
        status = STATUSES.get(str(order.get("status")))
        if status is None:
            return Mapped(
                None,
                [Finding("payload.shape", "status", f"unknown WooCommerce status {order.get('status')!r}")],
                text(order.get("id")),
            )
        try:
            occurred = parse_time(order.get("date_modified_gmt"), naive_is_utc=True) or parse_time(
                order.get("date_created_gmt"), naive_is_utc=True
            )
        except ValueError as exc:
            return Mapped(
                None, [Finding("payload.shape", "date_modified_gmt", str(exc))], text(order.get("id"))
            )
        currency = text(order.get("currency"))
        billing = obj(order.get("billing"))
        raw = {
            "event": TOPICS[topic],
            "external_id": text(order.get("id")),
            "name": (text(order.get("number")) or "")[:64] or None,
            "status": status,
            "occurred_at": occurred,
            "currency": currency,
            "contact": {"email": text(billing.get("email")), "phone": text(billing.get("phone"))},
            "delivery": _address(order),
            "lines": [_line(obj(li), currency) for li in items(order.get("line_items"))],
            "shipping": text(order.get("shipping_total")) or Decimal(0),
            "fees": _fees(order),
            "discount": text(order.get("discount_total")) or Decimal(0),
            "tax": text(order.get("total_tax")) or Decimal(0),
            "total": text(order.get("total")),
            "payment_method": (
                text(order.get("payment_method_title")) or text(order.get("payment_method")) or ""
            )[:64]
            or None,
        }
        return canonical(raw, found)
