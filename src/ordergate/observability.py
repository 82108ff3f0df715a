"""JSON logs with secrets redacted, and the Prometheus metrics endpoint's content."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_KEYS = re.compile(r"token|secret|password|authorization|api_key|cookie|key$", re.IGNORECASE)
# Anything shaped like one of our URL secrets (24+ url-safe characters) is masked wherever it appears.
SECRET_VALUE = re.compile(r"(og_[a-z0-9]{10}_)?[A-Za-z0-9_-]{24,}")


SHORTEST_SECRET = 24  # no shorter text can hold a match of SECRET_VALUE
_secret_key: dict[str, bool] = {}  # key -> whether SECRET_KEYS names it (log keys are few: code names them)


def _is_secret_key(key: str) -> bool:
    found = _secret_key.get(key)
    if found is None:
        found = SECRET_KEYS.search(key) is not None
        if len(_secret_key) < 10_000:
            _secret_key[key] = found
    return found


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if _is_secret_key(key):
            event[key] = "[redacted]"
        elif isinstance(value, str) and len(value) >= SHORTEST_SECRET:
            event[key] = SECRET_VALUE.sub("[redacted]", value)
    return event


def _fallback(value: Any) -> Any:
    """What structlog's JSONRenderer writes for a value JSON has no spelling for."""
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)


# One encoder for every line (json.dumps with `default` builds a new one each call); the same text.
_ENCODER = json.JSONEncoder(default=_fallback)


def _dumps(event: Any, **_: Any) -> str:
    return _ENCODER.encode(event)


def _add_pid(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event["pid"] = os.getpid()  # which web process, under `serve --workers N`
    return event


def configure_logging(level: str = "info") -> None:
    """structlog events and every standard-library record (uvicorn, httpx, SQLAlchemy) as one JSON
    line each, through the same redaction. Safe to call again (each web process calls it)."""
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    root = logging.getLogger()
    if not any(getattr(h, "ordergate_json", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(),
                ],
                foreign_pre_chain=[
                    structlog.stdlib.add_log_level,
                    structlog.stdlib.add_logger_name,
                    stamp,
                    _add_pid,
                    redact,
                ],
            )
        )
        handler.ordergate_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            _add_pid,
            redact,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
