"""What every channel adapter shares: the envelope of a delivery, signature checks, body decoding,
and turning a validation error into findings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from pydantic import ValidationError

from ordergate.errors import field_path
from ordergate.intake.rules import Finding
from ordergate.intake.schemas import CanonicalOrder
from ordergate.signing import hmac_base64, same


@dataclass(frozen=True)
class Envelope:
    """What the transport says about a delivery, before its body is trusted."""

    topic: str = ""
    delivery_id: str | None = None  # the same on every retry of one delivery
    event_id: str | None = None  # the same on every delivery of one event
    headers: dict[str, str] = field(default_factory=dict)  # kept for the operator (no signatures)
    # The channel's delivery id names a delivery only together with its body: WooCommerce builds it
    # from the webhook id and the current second, so two orders sent in one second share it.
    delivery_id_needs_body: bool = False

    def delivery_key(self, fingerprint: str) -> str | None:
        """What names this delivery among the source's: a repeat carries the same key."""
        if self.delivery_id and self.delivery_id_needs_body:
            return f"{self.delivery_id[:60]}/{fingerprint}"
        return self.delivery_id


@dataclass(frozen=True)
class BadSignature:
    header: str
    reason: str  # missing_signature | bad_signature | stale_signature
    message: str


@dataclass
class Mapped:
    order: CanonicalOrder | None
    findings: list[Finding] = field(default_factory=list)
    external_id: str | None = None  # read even when the order could not be, for the operator


class Adapter(Protocol):
    kind: str
    http: bool  # takes deliveries over HTTP (CSV comes through the CLI)

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool: ...

    def envelope(self, headers: Mapping[str, str]) -> Envelope: ...

    def marks_test(self, headers: Mapping[str, str]) -> bool:
        """Whether the transport says the delivery is a test order (as kept in the envelope)."""
        ...

    def verify(
        self, secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime
    ) -> BadSignature | None: ...

    def map(self, topic: str, body: bytes, settings: Mapping[str, Any]) -> Mapped: ...

    def store_check(
        self, headers: Mapping[str, str], order: CanonicalOrder, settings: Mapping[str, Any], store: str
    ) -> list[Finding]: ...


def keep(headers: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {n: headers[n][:200] for n in names if n in headers}


def verify_base64_hmac(
    secret: str, headers: Mapping[str, str], body: bytes, header: str
) -> BadSignature | None:
    """Shopify's and WooCommerce's scheme: `header` holds the base64 HMAC-SHA256 of the raw body."""
    presented = headers.get(header.lower())
    if not presented:
        return BadSignature(header, "missing_signature", "the delivery is not signed")
    if not same(hmac_base64(secret, body), presented.strip()):
        return BadSignature(header, "bad_signature", "the signature does not match the body")
    return None


def decode(body: bytes) -> tuple[str | None, list[Finding]]:
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [Finding("payload.encoding", "body", f"not UTF-8 text: byte {exc.start} is invalid")]


def json_object(body: bytes) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The body as a JSON object, numbers as exact decimals."""
    text, found = decode(body)
    if text is None:
        return None, found
    try:
        value = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        return None, [Finding("payload.json", "body", f"not JSON: {str(exc)[:200]}")]
    if not isinstance(value, dict):
        return None, [Finding("payload.json", "body", "the body must be a JSON object")]
    return value, []


def parse_time(value: Any, *, naive_is_utc: bool = False) -> datetime | None:
    """RFC 3339 (or ISO 8601) to an aware UTC datetime; None when absent, ValueError when wrong."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("not a date-time string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ValueError("a date-time needs its UTC offset")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def canonical(raw: dict[str, Any], findings: list[Finding]) -> Mapped:
    """Validate a dict in the canonical shape; type errors become payload.shape findings."""
    try:
        return Mapped(CanonicalOrder.model_validate(raw), findings)
    except ValidationError as exc:
        shape = [
            Finding(
                "payload.shape", field_path(e["loc"]) or "body", str(e["msg"]).removeprefix("Value error, ")
            )
            for e in exc.errors()
        ]
        external_id = raw.get("external_id")
        return Mapped(None, [*findings, *shape], str(external_id)[:128] if external_id else None)


def text(value: Any) -> str | None:
    """A scalar as text; empty values as None (channels send "" and null alike)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, str | int | Decimal) else None


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
