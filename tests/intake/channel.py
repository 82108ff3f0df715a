"""Channels as the tests play them: Shopify, WooCommerce and generic senders that sign like the
real ones, and readers of the fixtures under fixtures/."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from ordergate.intake.adapters.generic import sign

SECRET = "intake-test-secret-0123456789abcdef"
SHOP = "fieldnotes-demo.myshopify.com"
WOO_SITE = "https://wholesale.fieldnotes.example/"
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return copy.deepcopy(data)


def shopify_order(**changes: Any) -> dict[str, Any]:
    order = fixture("shopify_orders_create.json")
    order.update(changes)
    return order


def woo_order(**changes: Any) -> dict[str, Any]:
    order = fixture("woo_order_created.json")
    order.update(changes)
    return order


def generic_order(**changes: Any) -> dict[str, Any]:
    order = fixture("generic_order.json")
    order.update(changes)
    return order


WOO_WEBHOOK_ID = "14"
WOO_NONCE_SALT = "put your unique phrase here"  # wp-config.php's placeholder, as a salt


def woo_delivery_id(webhook_id: str = WOO_WEBHOOK_ID, at: int | None = None) -> str:
    """As WooCommerce builds it (WC_Webhook::get_new_delivery_id in woocommerce/woocommerce,
    includes/class-wc-webhook.php): wp_hash(webhook id . strtotime('now')), and wp_hash is an
    HMAC-MD5 under a site salt. So it changes once a second, not once per delivery."""
    second = int(time.time()) if at is None else at
    return hmac.new(WOO_NONCE_SALT.encode(), f"{webhook_id}{second}".encode(), hashlib.md5).hexdigest()


def body_of(payload: dict[str, Any] | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def b64_hmac(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Channel:
    """Posts deliveries the way each platform does (headers, signature over the raw body)."""

    def __init__(self, client: httpx.AsyncClient, secret: str = SECRET):
        self.c, self.secret = client, secret

    async def shopify(
        self,
        payload: dict[str, Any] | bytes,
        *,
        topic: str = "orders/create",
        webhook_id: str | None = None,
        event_id: str | None = None,
        shop: str = SHOP,
        signature: str | None = None,
        source: str = "shopify-demo",
    ) -> httpx.Response:
        body = body_of(payload)
        order = payload if isinstance(payload, dict) else {}
        # As a delivery of an order topic arrives (shopify.dev/docs/apps/build/webhooks/
        # delivery-structure; a logged delivery's headers in dimonge/shopify-integration-aws-stack,
        # functions/models/metadata.js): the order id and whether it is a test order ride along.
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2026-01",
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": "2026-03-14T10:21:09.120Z",
            **({"X-Shopify-Order-Id": str(order["id"])} if "id" in order else {}),
            "X-Shopify-Test": "true" if order.get("test") is True else "false",
            "X-Shopify-Hmac-Sha256": signature if signature is not None else b64_hmac(body, self.secret),
        }
        return await self.c.post(f"/api/v1/intake/{source}", content=body, headers=headers)

    # Headers as WC_Webhook::deliver() sets them (woocommerce/woocommerce, class-wc-webhook.php).
    async def woo(
        self,
        payload: dict[str, Any] | bytes,
        *,
        topic: str = "order.created",
        delivery_id: str | None = None,
        signature: str | None = None,
        source: str = "woo-demo",
    ) -> httpx.Response:
        body = body_of(payload)
        resource, _, event = topic.partition(".")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/8.7.0 Hookshot (WordPress/6.5)",
            "X-WC-Webhook-Source": WOO_SITE,
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-ID": WOO_WEBHOOK_ID,
            "X-WC-Webhook-Delivery-ID": delivery_id or woo_delivery_id(),
            "X-WC-Webhook-Signature": signature if signature is not None else b64_hmac(body, self.secret),
        }
        return await self.c.post(f"/api/v1/intake/{source}", content=body, headers=headers)

    async def generic(
        self,
        payload: dict[str, Any] | bytes,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        source: str = "generic-demo",
    ) -> httpx.Response:
        body = body_of(payload)
        header = (
            signature if signature is not None else sign(self.secret, body, timestamp or int(time.time()))
        )
        return await self.c.post(
            f"/api/v1/intake/{source}",
            content=body,
            headers={"Content-Type": "application/json", "Ordergate-Signature": header},
        )
