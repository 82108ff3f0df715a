"""Sealing secrets at rest with the server key (AES-256-GCM, key derived from ORDERGATE_SECRET_KEY
with HKDF-SHA256, both from the `cryptography` package).

`cryptography` is imported by the first seal or unseal, not with the module: the web process maps
its extension (about 8 MB resident) only once it places an order, and processes that never seal
(the console's and intake's reads, `ordergate migrate`) never do.

Outside the demo the key comes from ORDERGATE_SECRET_KEY (required there). In the demo, without
one, a random key is kept in `<var_dir>/secret.key` so the web process and the worker share it."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ordergate.settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1."
NONCE_BYTES = 12


class SealBroken(Exception):
    """A sealed value could not be opened: another server key, or tampered with."""


@lru_cache(maxsize=8)
def _derive(secret: bytes) -> AESGCM:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ordergate/seal/v1").derive(secret)
    return AESGCM(key)


@lru_cache(maxsize=8)
def _demo_secret(path: Path) -> bytes:
    """Create the demo key once, atomically: two processes starting together end up with one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
        try:
            os.link(tmp, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path.read_text().strip().encode()


def _cipher(settings: Settings) -> AESGCM:
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return _derive(settings.secret_key.get_secret_value().encode())
    return _derive(_demo_secret(settings.var_dir.resolve() / "secret.key"))


def seal(settings: Settings, plain: str, *, context: str) -> str:
    """`context` binds the sealed value to where it is stored (a row cannot borrow another's)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = _cipher(settings).encrypt(nonce, plain.encode(), context.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(settings: Settings, value: str, *, context: str) -> str:
    from cryptography.exceptions import InvalidTag

    if not value.startswith(PREFIX):
        raise SealBroken("unknown seal format")
    raw = value[len(PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        plain = _cipher(settings).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context.encode())
    except (InvalidTag, ValueError) as exc:
        raise SealBroken("sealed with another server key, or altered") from exc
    return plain.decode()
