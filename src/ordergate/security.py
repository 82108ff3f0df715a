"""Tokens, order numbers, operator keys and constant-time comparisons."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TOKEN_BYTES = 24  # 192 random bits, above the 128 the contract asks for
# Crockford-like alphabet: no 0/O, 1/I/L, U; easy to read out over the phone.
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_PATTERN = re.compile(r"^og_([a-z0-9]{10})_[A-Za-z0-9_-]{20,}$")


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """argon2, for keys set by hand: loaded with the first such key, not by every web process."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_order_number() -> str:
    """Short, human-friendly, random (not sequential): e.g. `K7QF-M2XD`."""
    chars = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def new_operator_key() -> str:
    key_id = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(10))
    return f"og_{key_id}_{secrets.token_urlsafe(24)}"


def operator_key_id(key: str) -> str:
    """The public part of a key used to find its row; keys set by hand get one derived from a hash."""
    match = KEY_PATTERN.match(key)
    if match:
        return match.group(1)
    return "h" + hashlib.sha256(key.encode()).hexdigest()[:9]


KEYED_HASH = "hmac-sha256$"


def hash_operator_key(key: str) -> str:
    """Generated keys (192 random bits) get a keyed SHA-256 (HMAC under a random per-key salt):
    nothing can be guessed from it, and checking a wrong secret costs microseconds, not 30 ms of
    argon2. A key set by hand may have been chosen by a person: that one keeps argon2."""
    if KEY_PATTERN.match(key):
        salt = secrets.token_hex(16)
        return f"{KEYED_HASH}{salt}${_keyed(salt, key)}"
    return _hasher().hash(key)


def _keyed(salt: str, key: str) -> str:
    return hmac.new(bytes.fromhex(salt), key.encode(), hashlib.sha256).hexdigest()


def verify_operator_key(key_hash: str, key: str) -> bool:
    if key_hash.startswith(KEYED_HASH):
        salt, _, digest = key_hash.removeprefix(KEYED_HASH).partition("$")
        try:
            return hmac.compare_digest(_keyed(salt, key), digest)
        except ValueError:
            return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(key_hash, key)
    except (VerificationError, InvalidHashError):
        return False


def operator_key_hash_outdated(key_hash: str, key: str) -> bool:
    """An argon2 hash of a generated key, from before keyed hashes: rehash it once the key is verified."""
    return not key_hash.startswith(KEYED_HASH) and KEY_PATTERN.match(key) is not None


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def order_token_for_checkout(checkout_id: str, idempotency_key: str | None) -> str:
    """The order token of the order a checkout becomes.

    Derived from the checkout id and the placement's Idempotency-Key, neither stored in the clear:
    placing the same checkout again with the same key hands back the same tracking link, while the
    checkout id alone (a resume link, what an assistant was given) leads to no order at all.
    Without a key the token is random."""
    if not idempotency_key:
        return new_token()
    message = b"ordergate/order-token/v2\x00" + idempotency_key.encode()
    digest = hmac.new(checkout_id.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")


def legacy_order_token_for_checkout(checkout_id: str) -> str:
    """Tokens of orders placed before v2: derived from the checkout id alone (still valid links)."""
    digest = hmac.new(checkout_id.encode(), b"ordergate/order-token/v1", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")
