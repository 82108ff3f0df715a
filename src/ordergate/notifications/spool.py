"""The development sink: messages written as files under var_dir, readable only by their owner."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_private(directory: Path, name: str, data: bytes) -> Path:
    """Write atomically (a reader never sees half a message); the same name written again replaces
    the file, so a redelivered message is still one file."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = directory / name
    tmp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
