"""Our own canonical JSON (intake/schemas.py CanonicalOrder), for channels we have no adapter for.

Signed like Stripe's webhooks: `Ordergate-Signature: t=<unix seconds>,v1=<hex>`, where v1 is the
HMAC-SHA256 of `"{t}.{body}"` under the source's secret; a timestamp more than five minutes from
our clock is refused, so a captured delivery cannot be replayed later. Several v1 values may be
sent while a secret is being rotated."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ordergate.intake.adapters.base import BadSignature, Envelope, Mapped, canonical, json_object, keep
from ordergate.intake.rules import Finding
from ordergate.intake.schemas import CanonicalOrder

SIGNATURE = "ordergate-signature"
TOLERANCE_SECONDS = 300
KEPT = ("ordergate-delivery-id", "content-type", "user-agent")


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp` (for senders, tests and the bench)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _parts(header: str) -> tuple[int | None, list[str]]:
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value.lower())
    return timestamp, signatures


class GenericAdapter:
    kind = "generic"
    http = True

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    def envelope(self, headers: Mapping[str, str]) -> Envelope:
        return Envelope(
            topic="",
            delivery_id=headers.get("ordergate-delivery-id", "")[:128] or None,
            headers=keep(headers, KEPT),
        )

    def verify(
        self, secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> BadSignature | None:
        header = headers.get(SIGNATURE)
        if not header:
            return BadSignature("Ordergate-Signature", "missing_signature", "the delivery is not signed")
        timestamp, signatures = _parts(header)
        if timestamp is None or not signatures:
            return BadSignature("Ordergate-Signature", "bad_signature", "expected t=<unix seconds>,v1=<hex>")
        if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
            return BadSignature(
                "Ordergate-Signature",
                "stale_signature",
                f"the timestamp is more than {TOLERANCE_SECONDS} s from the server's clock",
            )
        expected = sign(secret, body, timestamp).rpartition("v1=")[2]
        if not any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures):
            return BadSignature(
                "Ordergate-Signature", "bad_signature", "the signature does not match the body"
            )
        return None

    def store_check(
        self, headers: Mapping[str, str], order: CanonicalOrder, settings: Mapping[str, Any], store: str
    ) -> list[Finding]:
        if order.store and order.store != store:
            return [
                Finding("reference.store", "store", f"the order is for store {order.store!r}, not {store!r}")
            ]
        return []

    def map(self, topic: str, body: bytes, settings: Mapping[str, Any]) -> Mapped:
        raw, found = json_object(body)
        if raw is None:
            return Mapped(None, found)
        mapped = canonical(raw, found)
        if mapped.order is not None and mapped.order.event == "cancel":
            mapped.order.status = "cancelled"
        return mapped
