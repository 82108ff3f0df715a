"""Our own canonical JSON (intake/schemas.py CanonicalOrder), for channels we have no adapter for.

Signed like Stripe's webhooks: `Ordergate-Signature: t=<unix seconds>,v1=<hex>`, where v1 is the
HMAC-SHA256 of `"{t}.{body}"` under the source's secret; a timestamp more than five minutes from
our clock is refused, so a captured delivery cannot be replayed later. Several v1 values may be
sent while a secret is being rotated."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ordergate.intake.adapters.base import BadSignature, Envelope, Mapped, canonical, json_object, keep
from ordergate.intake.rules import Finding
from ordergate.intake.schemas import CanonicalOrder
from ordergate.signing import TOLERANCE_SECONDS, Refusal, check_timestamped
from ordergate.signing import sign_timestamped as sign

__all__ = ["GenericAdapter", "sign"]

SIGNATURE = "ordergate-signature"
KEPT = ("ordergate-delivery-id", "content-type", "user-agent")


class GenericAdapter:
    kind = "generic"
    http = True

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return False

    def marks_test(self, headers: Mapping[str, str]) -> bool:
        return False  # no test flag in this channel's transport (the generic body may carry one)

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
        refused = check_timestamped(secret, header, body, now=now)
        if refused is Refusal.MALFORMED:
            return BadSignature("Ordergate-Signature", "bad_signature", "expected t=<unix seconds>,v1=<hex>")
        if refused is Refusal.STALE:
            return BadSignature(
                "Ordergate-Signature",
                "stale_signature",
                f"the timestamp is more than {TOLERANCE_SECONDS} s from the server's clock",
            )
        if refused is Refusal.MISMATCH:
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
