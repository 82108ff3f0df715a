"""AES-256-GCM (NIST SP 800-38D) and HKDF-SHA256 (RFC 5869) for sealing secrets at rest.

HKDF is the standard library's HMAC. AES-GCM is OpenSSL's EVP interface, from the libcrypto the
interpreter itself is linked with (`ssl`, `hashlib`), reached through ctypes: importing the
`cryptography` package for it would map its own 14 MB extension (and a second OpenSSL) into every web
process, some 10 MB of resident memory, for the one seal each placement makes. Where that libcrypto
cannot be found (not Linux, no OpenSSL 3 or 1.1), `cryptography`'s AESGCM does the same work.
Both write the same bytes: ciphertext then the 16-byte tag (tests/notifications/test_sealing.py
checks published test vectors and values sealed by each)."""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import sys
from functools import lru_cache
from typing import Any, Protocol

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# EVP_CIPHER_CTX_ctrl commands for GCM (openssl/evp.h: EVP_CTRL_AEAD_SET_IVLEN and friends).
_SET_IVLEN, _GET_TAG, _SET_TAG = 0x9, 0x10, 0x11
_LIBCRYPTO_NAMES = ("libcrypto.so.3", "libcrypto.so.1.1")


class InvalidTag(Exception):
    """The ciphertext, nonce or associated data is not what the key sealed (or the key differs)."""


class Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated: bytes) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated: bytes) -> bytes: ...


def hkdf_sha256(secret: bytes, *, length: int, info: bytes, salt: bytes = b"") -> bytes:
    """RFC 5869 extract-then-expand; no salt means a hash-length string of zeros (section 2.2)."""
    if not 0 < length <= 255 * 32:
        raise ValueError("HKDF-SHA256 gives 1 to 8160 bytes")
    prk = hmac.new(salt or bytes(32), secret, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def aes_gcm(key: bytes) -> Aead:
    """AES-256-GCM with `key` (32 bytes) and 12-byte nonces."""
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256-GCM takes a 32-byte key")
    lib = _libcrypto()
    if lib is None:
        return _CryptographyGcm(key)
    return _OpenSslGcm(lib, key)


@lru_cache(maxsize=1)
def _libcrypto() -> Any:
    if not sys.platform.startswith("linux"):
        return None  # elsewhere (macOS) an unversioned or foreign libcrypto is no safe guess
    for name in _LIBCRYPTO_NAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        p, i = ctypes.c_void_p, ctypes.c_int
        signatures: dict[str, tuple[Any, list[Any]]] = {
            "EVP_CIPHER_CTX_new": (p, []),
            "EVP_CIPHER_CTX_free": (None, [p]),
            "EVP_aes_256_gcm": (p, []),
            "EVP_CIPHER_CTX_ctrl": (i, [p, i, i, p]),
            "EVP_EncryptInit_ex": (i, [p, p, p, p, p]),
            "EVP_EncryptUpdate": (i, [p, p, ctypes.POINTER(i), p, i]),
            "EVP_EncryptFinal_ex": (i, [p, p, ctypes.POINTER(i)]),
            "EVP_DecryptInit_ex": (i, [p, p, p, p, p]),
            "EVP_DecryptUpdate": (i, [p, p, ctypes.POINTER(i), p, i]),
            "EVP_DecryptFinal_ex": (i, [p, p, ctypes.POINTER(i)]),
            "ERR_clear_error": (None, []),
        }
        try:
            for fn, (restype, argtypes) in signatures.items():
                getattr(lib, fn).restype = restype
                getattr(lib, fn).argtypes = argtypes
        except AttributeError:
            continue
        return lib
    return None


class _OpenSslGcm:
    def __init__(self, lib: Any, key: bytes):
        self.lib, self.key = lib, key

    def encrypt(self, nonce: bytes, data: bytes, associated: bytes) -> bytes:
        lib, out, tag = self.lib, ctypes.create_string_buffer(len(data) + 1), ctypes.create_string_buffer(16)
        ctx = self._start(lib.EVP_EncryptInit_ex, nonce)
        try:
            n = ctypes.c_int(0)
            if associated:
                _ok(lib.EVP_EncryptUpdate(ctx, None, ctypes.byref(n), associated, len(associated)))
            if data:
                _ok(lib.EVP_EncryptUpdate(ctx, out, ctypes.byref(n), data, len(data)))
            written, n = n.value if data else 0, ctypes.c_int(0)
            _ok(lib.EVP_EncryptFinal_ex(ctx, ctypes.byref(out, written), ctypes.byref(n)))
            _ok(lib.EVP_CIPHER_CTX_ctrl(ctx, _GET_TAG, TAG_BYTES, tag))
            return out.raw[: written + n.value] + tag.raw
        finally:
            lib.EVP_CIPHER_CTX_free(ctx)

    def decrypt(self, nonce: bytes, data: bytes, associated: bytes) -> bytes:
        if len(data) < TAG_BYTES:
            raise InvalidTag
        body, tag = data[:-TAG_BYTES], ctypes.create_string_buffer(data[-TAG_BYTES:], TAG_BYTES)
        lib, out = self.lib, ctypes.create_string_buffer(len(body) + 1)
        ctx = self._start(lib.EVP_DecryptInit_ex, nonce)
        try:
            n = ctypes.c_int(0)
            if associated:
                _ok(lib.EVP_DecryptUpdate(ctx, None, ctypes.byref(n), associated, len(associated)))
            if body:
                _ok(lib.EVP_DecryptUpdate(ctx, out, ctypes.byref(n), body, len(body)))
            written, n = n.value if body else 0, ctypes.c_int(0)
            _ok(lib.EVP_CIPHER_CTX_ctrl(ctx, _SET_TAG, TAG_BYTES, tag))
            if lib.EVP_DecryptFinal_ex(ctx, ctypes.byref(out, written), ctypes.byref(n)) != 1:
                lib.ERR_clear_error()  # leave nothing on this thread's queue for ssl to find later
                raise InvalidTag
            return out.raw[: written + n.value]
        finally:
            lib.EVP_CIPHER_CTX_free(ctx)

    def _start(self, init: Any, nonce: bytes) -> Any:
        if len(nonce) != NONCE_BYTES:
            raise ValueError("the nonce is 12 bytes")
        ctx = self.lib.EVP_CIPHER_CTX_new()
        if not ctx:
            raise MemoryError("EVP_CIPHER_CTX_new")
        try:
            _ok(init(ctx, self.lib.EVP_aes_256_gcm(), None, None, None))
            _ok(self.lib.EVP_CIPHER_CTX_ctrl(ctx, _SET_IVLEN, NONCE_BYTES, None))
            _ok(init(ctx, None, None, self.key, nonce))
        except BaseException:
            self.lib.EVP_CIPHER_CTX_free(ctx)
            raise
        return ctx


def _ok(result: int) -> None:
    if result != 1:
        _libcrypto().ERR_clear_error()
        raise RuntimeError("OpenSSL refused an AES-GCM step")


class _CryptographyGcm:
    def __init__(self, key: bytes):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.gcm = AESGCM(key)

    def encrypt(self, nonce: bytes, data: bytes, associated: bytes) -> bytes:
        return bytes(self.gcm.encrypt(nonce, data, associated))

    def decrypt(self, nonce: bytes, data: bytes, associated: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag as Refused

        try:
            return bytes(self.gcm.decrypt(nonce, data, associated))
        except Refused as exc:
            raise InvalidTag from exc
