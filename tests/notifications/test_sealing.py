"""Sealing's primitives: AES-256-GCM through the interpreter's OpenSSL (ordergate.aesgcm) answers as the
published test vectors and as the `cryptography` package do, and values sealed before still open."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ordergate import aesgcm
from ordergate.notifications import sealing
from ordergate.notifications.sealing import SealBroken, seal, unseal
from ordergate.settings import Settings

# "The Galois/Counter Mode of Operation (GCM)", McGrew and Viega (NIST submission, 2005), Appendix B,
# Test Case 16: AES-256, 96-bit IV, 60 bytes of plaintext, 20 bytes of associated data.
GCM_KEY = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
GCM_IV = bytes.fromhex("cafebabefacedbaddecaf888")
GCM_PLAIN = bytes.fromhex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
)
GCM_AAD = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
GCM_CIPHER = bytes.fromhex(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
)
GCM_TAG = bytes.fromhex("76fc6ece0f4e1768cddf8853bb2d551b")
# Test Case 13 of the same appendix: AES-256, zero key and IV, nothing to encrypt: the tag alone.
EMPTY_TAG = bytes.fromhex("530f8afbc74536b9a963b4f1c4cb738b")

# Sealed with ORDERGATE_SECRET_KEY below by the code before ordergate.aesgcm (cryptography's HKDF and
# AESGCM): stored values must keep opening.
SECRET_KEY = "a-server-key-of-32-characters-or-more-0123"
SEALED_BEFORE = (
    "v1.TBD-AwLC47q-f2DsSjnrqExykQuZnzWIxpK7vOmrGdS6frVWzREk3c0Jc8nfg1iB8t1g14NcUmpxuyqITFVop9bkdaaZBA"
)
SEALED_EMPTY_BEFORE = "v1.Qbs9PQRrMz2fHlYex1H5mZLSE8MszvdyPT20TA"


@pytest.fixture(params=["openssl", "cryptography"])
def gcm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways aes_gcm() works: the interpreter's libcrypto, and the fallback where there is none."""
    if request.param == "openssl":
        assert aesgcm._libcrypto() is not None, "no libcrypto found on this (Linux) machine"
    else:
        monkeypatch.setattr(aesgcm, "_libcrypto", lambda: None)
    sealing._derive.cache_clear()  # ciphers made under the other way
    yield str(request.param)
    sealing._derive.cache_clear()


def test_published_vectors(gcm: str) -> None:
    sealed = aesgcm.aes_gcm(GCM_KEY).encrypt(GCM_IV, GCM_PLAIN, GCM_AAD)
    assert sealed == GCM_CIPHER + GCM_TAG
    assert aesgcm.aes_gcm(GCM_KEY).decrypt(GCM_IV, sealed, GCM_AAD) == GCM_PLAIN
    assert aesgcm.aes_gcm(bytes(32)).encrypt(bytes(12), b"", b"") == EMPTY_TAG
    assert aesgcm.aes_gcm(bytes(32)).decrypt(bytes(12), EMPTY_TAG, b"") == b""


def test_anything_altered_is_refused(gcm: str) -> None:
    sealed = GCM_CIPHER + GCM_TAG
    for i in (0, len(GCM_CIPHER) - 1, len(sealed) - 1):
        altered = bytearray(sealed)
        altered[i] ^= 0x01
        with pytest.raises(aesgcm.InvalidTag):
            aesgcm.aes_gcm(GCM_KEY).decrypt(GCM_IV, bytes(altered), GCM_AAD)
    with pytest.raises(aesgcm.InvalidTag):
        aesgcm.aes_gcm(GCM_KEY).decrypt(GCM_IV, sealed, GCM_AAD + b"x")  # other associated data
    with pytest.raises(aesgcm.InvalidTag):
        aesgcm.aes_gcm(bytes(32)).decrypt(GCM_IV, sealed, GCM_AAD)  # another key
    with pytest.raises(aesgcm.InvalidTag):
        aesgcm.aes_gcm(GCM_KEY).decrypt(GCM_IV, GCM_TAG[:15], GCM_AAD)  # shorter than a tag


def test_same_bytes_as_cryptography(gcm: str) -> None:
    for size in (0, 1, 15, 16, 17, 255, 4096):
        key, nonce, data, aad = os.urandom(32), os.urandom(12), os.urandom(size), os.urandom(size % 40)
        ours = aesgcm.aes_gcm(key).encrypt(nonce, data, aad)
        assert ours == AESGCM(key).encrypt(nonce, data, aad)
        assert aesgcm.aes_gcm(key).decrypt(nonce, ours, aad) == data


def test_hkdf_matches_rfc_5869_and_cryptography() -> None:
    # RFC 5869, A.3: SHA-256, no salt, no info.
    okm = aesgcm.hkdf_sha256(b"\x0b" * 22, length=42, info=b"")
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )
    # RFC 5869, A.1: SHA-256 with salt and info.
    okm = aesgcm.hkdf_sha256(b"\x0b" * 22, length=42, info=bytes(range(0xF0, 0xFA)), salt=bytes(range(0x0D)))
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    for secret in (b"s", os.urandom(48)):
        expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ordergate/seal/v1")
        assert aesgcm.hkdf_sha256(secret, length=32, info=b"ordergate/seal/v1") == expected.derive(secret)


def test_values_sealed_before_still_open(gcm: str, database_url: str) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
    token = "ogt_the-order-token-sealed-by-cryptography"
    assert unseal(settings, SEALED_BEFORE, context="order-link:abc") == token
    assert unseal(settings, SEALED_EMPTY_BEFORE, context="") == ""
    with pytest.raises(SealBroken):
        unseal(settings, SEALED_BEFORE, context="order-link:abd")
    again = seal(settings, token, context="order-link:abc")
    assert again != SEALED_BEFORE
    assert unseal(settings, again, context="order-link:abc") == token
