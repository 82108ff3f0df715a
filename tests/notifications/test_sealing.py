"""Sealing secrets at rest: values sealed before still open, anything altered or moved is refused."""

from __future__ import annotations

import base64

import pytest

from ordergate.notifications.sealing import PREFIX, SealBroken, seal, unseal
from ordergate.settings import Settings

# Sealed with ORDERGATE_SECRET_KEY below by an earlier release (cryptography's HKDF-SHA256 and
# AESGCM, the same construction as now): stored values must keep opening.
SECRET_KEY = "a-server-key-of-32-characters-or-more-0123"
SEALED_BEFORE = (
    "v1.TBD-AwLC47q-f2DsSjnrqExykQuZnzWIxpK7vOmrGdS6frVWzREk3c0Jc8nfg1iB8t1g14NcUmpxuyqITFVop9bkdaaZBA"
)
SEALED_EMPTY_BEFORE = "v1.Qbs9PQRrMz2fHlYex1H5mZLSE8MszvdyPT20TA"
TOKEN = "ogt_the-order-token-sealed-by-cryptography"


def test_values_sealed_before_still_open(database_url: str) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    assert unseal(settings, SEALED_BEFORE, context="order-link:abc") == TOKEN
    assert unseal(settings, SEALED_EMPTY_BEFORE, context="") == ""
    again = seal(settings, TOKEN, context="order-link:abc")
    assert again != SEALED_BEFORE  # a fresh nonce each time
    assert unseal(settings, again, context="order-link:abc") == TOKEN


def test_anything_altered_or_moved_is_refused(database_url: str) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    raw = SEALED_BEFORE[len(PREFIX) :]
    blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    for i in (0, 12, len(blob) - 1):  # the nonce, the ciphertext, the tag
        altered = bytearray(blob)
        altered[i] ^= 0x01
        value = PREFIX + base64.urlsafe_b64encode(bytes(altered)).decode().rstrip("=")
        with pytest.raises(SealBroken):
            unseal(settings, value, context="order-link:abc")
    with pytest.raises(SealBroken):
        unseal(settings, SEALED_BEFORE, context="order-link:abd")  # another row's context
    other = Settings(database_url=database_url, secret_key=SECRET_KEY[::-1])
    with pytest.raises(SealBroken):
        unseal(other, SEALED_BEFORE, context="order-link:abc")  # another server key
    with pytest.raises(SealBroken):
        unseal(settings, SEALED_BEFORE[:20], context="order-link:abc")  # cut short
    with pytest.raises(SealBroken):
        unseal(settings, "v2." + raw, context="order-link:abc")  # a format it does not know
