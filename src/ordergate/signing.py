"""HMAC signatures on webhook bodies: the one place they are made and checked.

Timestamped signatures follow Stripe's webhook scheme (`t=<unix seconds>,v1=<hex>`, where v1 is
the HMAC-SHA256 of `"{t}.{body}"`); Stripe's callbacks and our generic intake channel both use it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from enum import StrEnum

TOLERANCE_SECONDS = 300  # Stripe's default: a delivery older than this may be a replay


class Refusal(StrEnum):
    """Why a timestamped signature was not accepted."""

    MALFORMED = "malformed"  # no t= or no v1=
    STALE = "stale"  # t is too far from our clock
    MISMATCH = "mismatch"  # no v1 matches the body


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def hmac_base64(secret: str, message: bytes) -> bytes:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())


def same(expected: str | bytes, presented: str | bytes) -> bool:
    """Constant-time comparison of a computed signature with the one presented."""
    a = expected.encode() if isinstance(expected, str) else expected
    b = presented.encode() if isinstance(presented, str) else presented
    return hmac.compare_digest(a, b)


def sign_timestamped(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp` (for senders, tests and the bench)."""
    return f"t={timestamp},v1={hmac_hex(secret, f'{timestamp}.'.encode() + body)}"


def _parts(header: str) -> tuple[int | None, list[str]]:
    timestamp, signatures = None, []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        value = value.strip()
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value.lower())
    return timestamp, signatures


def check_timestamped(
    secret: str, header: str, body: bytes, *, now: datetime, tolerance: int = TOLERANCE_SECONDS
) -> Refusal | None:
    """None when one of the header's v1 signatures (several are sent while a secret is rotated)
    signs `body` at a time within `tolerance` seconds of `now`; otherwise why not."""
    timestamp, signatures = _parts(header)
    if timestamp is None or not signatures:
        return Refusal.MALFORMED
    if abs(now.timestamp() - timestamp) > tolerance:
        return Refusal.STALE
    expected = hmac_hex(secret, f"{timestamp}.".encode() + body)
    if not any(same(expected, s) for s in signatures):
        return Refusal.MISMATCH
    return None
