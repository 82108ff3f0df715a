"""Shopify order webhooks (orders/create, orders/updated, orders/cancelled, orders/fulfilled).

Shopify signs the raw body: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of it under the
app's secret. `X-Shopify-Webhook-Id` is the same on every retry of a delivery, `X-Shopify-Event-Id`
the same on every delivery of one event. The body is the REST Order resource.

Shopify's newer event subscriptions send the same headers without the `X-` prefix
(`Shopify-Hmac-Sha256`, `Shopify-Topic`, `Shopify-Webhook-Id`, `Shopify-Event-Id`, ...); both are
read, the un-prefixed one first (as Shopify's own shopify-api libraries do). A test order is one
whose body says `"test": true`, or whose delivery carries `X-Shopify-Test: true`."""

from __future__ import annotations

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

TOPICS = {
    "orders/create": "create",
    "orders/updated": "update",
    "orders/cancelled": "cancel",
    "orders/fulfilled": "update",
}
PAID = ("paid", "partially_refunded", "refunded")
NAMES = ("topic", "shop-domain", "api-version", "webhook-id", "event-id", "triggered-at", "order-id", "test")
KEPT = (
    *(f"x-shopify-{n}" for n in NAMES),
    *(f"shopify-{n}" for n in NAMES),
    "content-type",
    "user-agent",
)


def header(headers: Mapping[str, str], name: str) -> str:
    """Shopify's header `name` (e.g. "topic"), un-prefixed (event subscriptions) or `X-Shopify-`."""
    return headers.get(f"shopify-{name}") or headers.get(f"x-shopify-{name}") or ""


def _money_sum(values: list[Any]) -> Decimal | Any:
    try:
        return sum((Decimal(str(v)) for v in values if v not in (None, "")), Decimal(0))
    except InvalidOperation:
        return "not a number"  # left for validation to report


def status_of(order: Mapping[str, Any], topic: str) -> str:
    if topic == "orders/cancelled" or order.get("cancelled_at"):
        return "cancelled"
    if order.get("fulfillment_status") == "fulfilled":
        return "fulfilled"
    if order.get("financial_status") in PAID:
        return "paid"
    return "pending"


def _delivery(order: Mapping[str, Any]) -> dict[str, Any] | None:
    address = obj(order.get("shipping_address")) or obj(order.get("billing_address"))
    if not address:
        return None
    name = text(address.get("name")) or " ".join(
        p for p in (text(address.get("first_name")), text(address.get("last_name"))) if p
    )
    return {
        "name": name or None,
        "address_line1": text(address.get("address1")),
        "address_line2": text(address.get("address2")),
        "city": text(address.get("city")),
        "region": text(address.get("province_code")) or text(address.get("province")),
        "postal_code": text(address.get("zip")),
        "country": text(address.get("country_code")),
    }


def _shipment(order: Mapping[str, Any]) -> dict[str, Any] | None:
    done = [obj(f) for f in items(order.get("fulfillments")) if obj(f)]
    if not done:
        return None
    last = done[-1]
    return {
        "carrier": text(last.get("tracking_company")),
        "tracking_number": text(last.get("tracking_number")),
    }


class ShopifyAdapter:
    kind = "shopify"
    http = True

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    def envelope(self, headers: Mapping[str, str]) -> Envelope:
        return Envelope(
            topic=header(headers, "topic")[:64],
            delivery_id=header(headers, "webhook-id")[:128] or None,
            event_id=header(headers, "event-id")[:128] or None,
            headers=keep(headers, KEPT),
        )

    def marks_test(self, headers: Mapping[str, str]) -> bool:
        return header(headers, "test").strip().lower() == "true"

    def verify(
        self, secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> BadSignature | None:
        name = "Shopify-Hmac-Sha256" if "shopify-hmac-sha256" in headers else "X-Shopify-Hmac-Sha256"
        return verify_base64_hmac(secret, headers, body, name)

    def store_check(
        self, headers: Mapping[str, str], order: CanonicalOrder, settings: Mapping[str, Any], store: str
    ) -> list[Finding]:
        wanted = str(settings.get("shop_domain") or "").lower()
        sent = header(headers, "shop-domain").lower()
        if wanted and sent != wanted:
            return [
                Finding(
                    "reference.store",
                    "X-Shopify-Shop-Domain",
                    f"sent by shop {sent or '(none)'}; this source is for {wanted}",
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
                [Finding("payload.topic", "X-Shopify-Topic", f"topic {topic!r} is not handled")],
                text(order.get("id")),
            )
        try:
            occurred = parse_time(order.get("updated_at")) or parse_time(order.get("created_at"))
        except ValueError as exc:
            return Mapped(None, [Finding("payload.shape", "updated_at", str(exc))], text(order.get("id")))
        customer = obj(order.get("customer"))
        shipping_address = obj(order.get("shipping_address"))
        lines = []
        for li in items(order.get("line_items")):
            li = obj(li)
            variant = text(li.get("variant_id"))
            title = text(li.get("title"))
            variant_title = text(li.get("variant_title"))
            lines.append(
                {
                    "sku": text(li.get("sku")),
                    "external_ref": f"variant:{variant}" if variant else None,
                    "name": (f"{title} ({variant_title})" if title and variant_title else title or "")[:200]
                    or None,
                    "quantity": li.get("quantity"),
                    "unit_price": text(li.get("price")),
                }
            )
        shipping: Any = _money_sum([obj(s).get("price") for s in items(order.get("shipping_lines"))])
        if not items(order.get("shipping_lines")):
            shop_money = obj(obj(order.get("total_shipping_price_set")).get("shop_money"))
            shipping = text(shop_money.get("amount")) or Decimal(0)
        gateways = [g for g in items(order.get("payment_gateway_names")) if isinstance(g, str)]
        raw = {
            "event": TOPICS[topic],
            "external_id": text(order.get("id")),
            "name": (text(order.get("name")) or "")[:64] or None,
            "status": status_of(order, topic),
            "occurred_at": occurred,
            "currency": text(order.get("currency")),
            "contact": {
                "email": text(order.get("email"))
                or text(order.get("contact_email"))
                or text(customer.get("email")),
                "phone": text(order.get("phone"))
                or text(customer.get("phone"))
                or text(shipping_address.get("phone")),
            },
            "delivery": _delivery(order),
            "lines": lines,
            "shipping": shipping,
            "discount": text(order.get("total_discounts")) or Decimal(0),
            # Shops that show prices with tax included have it inside the line prices already.
            "tax": Decimal(0)
            if order.get("taxes_included")
            else (text(order.get("total_tax")) or Decimal(0)),
            "total": text(order.get("total_price")),
            "payment_method": ((gateways[0] if gateways else text(order.get("gateway"))) or "")[:64] or None,
            "shipment": _shipment(order),
            "test": order.get("test") is True,
        }
        return canonical(raw, found)
