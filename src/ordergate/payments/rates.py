"""Exchange rates for on-chain amounts: a fixed rate from the store's settings, or an HTTP rate
source (any JSON endpoint, the rate found by a dotted path) cached per process.

A rate is used only while younger than the method's `rate_max_age_seconds`; the rate an order is
quoted at is stored on its instruction and holds for the payment window."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ordergate import clock
from ordergate.payments.background import BackgroundValues
from ordergate.payments.config import OnchainSettings
from ordergate.payments.outside import PROBE_TIMEOUT, outside_client

if TYPE_CHECKING:
    import httpx

REFRESH_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class RateQuote:
    rate: Decimal  # store currency units per one unit of the asset
    fetched_at: datetime
    source: str


RATES: BackgroundValues[RateQuote | None] = BackgroundValues("rate_fetch", timeout=PROBE_TIMEOUT)


def _key(url: str, path: str) -> str:
    return f"{url}#{path}"


def rate_at_path(document: Any, path: str) -> Decimal:
    """`bitcoin.eur` -> document["bitcoin"]["eur"]; numeric parts index lists (`result.0.price`)."""
    node = document
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ValueError(f"no {part!r} in the rate source's answer")
    try:
        rate = Decimal(str(node))
    except InvalidOperation:
        raise ValueError("the rate source's value is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError("the rate source's value is not a positive number")
    return rate


async def fetch_rate(url: str, path: str, http: httpx.AsyncClient) -> RateQuote:
    response = await http.get(url, headers={"Accept": "application/json"}, timeout=PROBE_TIMEOUT)
    response.raise_for_status()
    # Decimal straight from the text: a float would already have lost digits.
    document = json.loads(response.content, parse_float=Decimal)
    return RateQuote(rate_at_path(document, path), clock.now(), urlsplit_host(url))


def urlsplit_host(url: str) -> str:
    import httpx

    return httpx.URL(url).host


def current_rate(cfg: OnchainSettings) -> RateQuote | None:
    """The rate to quote with now, or None (no fresh rate). Never does I/O; may start a refresh."""
    if cfg.rate is not None:
        return RateQuote(cfg.rate, clock.now(), "fixed")
    assert cfg.rate_url is not None
    assert cfg.rate_path is not None
    url, path = cfg.rate_url, cfg.rate_path
    key = _key(url, path)
    stamped = RATES.get(key)
    now = clock.now()
    if stamped is None or now - stamped.at >= REFRESH_AFTER:
        previous = stamped.value if stamped else None
        RATES.refresh_soon(key, lambda: _fetch_alone(url, path), lambda _: previous)
    quote = stamped.value if stamped else None
    if quote is None or now - quote.fetched_at > timedelta(seconds=cfg.rate_max_age_seconds):
        return None
    return quote


async def refresh_rate(cfg: OnchainSettings, http: httpx.AsyncClient | None = None) -> RateQuote | None:
    """Fetch the rate now (worker warm-up, readiness probe); a failure keeps the previous rate."""
    if cfg.rate is not None or cfg.rate_url is None or cfg.rate_path is None:
        return current_rate(cfg)
    url, path = cfg.rate_url, cfg.rate_path
    key = _key(url, path)
    stamped = RATES.get(key)
    previous = stamped.value if stamped else None

    async def fetch() -> RateQuote | None:
        if http is None:
            return await _fetch_alone(url, path)
        return await fetch_rate(url, path, http)

    return await RATES.refresh_now(key, fetch, lambda _: previous)


async def _fetch_alone(url: str, path: str) -> RateQuote | None:
    async with outside_client(PROBE_TIMEOUT) as http:
        return await fetch_rate(url, path, http)
