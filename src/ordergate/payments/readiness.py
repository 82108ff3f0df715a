"""Readiness probes of outside services, cached per process.

TTL: a good result is served for 60 s, a failed one for 15 s; after that the last result is still
served while a new probe (3 s timeout) runs in the background, so no request ever waits on a
provider and no probe runs inside a transaction. A method never probed in this process is
"checking" (not ready) until its first probe ends; the app probes every method at startup."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.payments.background import BackgroundValues
from ordergate.payments.outside import PROBE_TIMEOUT, outside_client
from ordergate.payments.protocol import PaymentProvider, Readiness
from ordergate.stores.models import PaymentMethod

GOOD_FOR = timedelta(seconds=60)
BAD_FOR = timedelta(seconds=15)
PROBES: BackgroundValues[Readiness] = BackgroundValues("readiness_probe", timeout=PROBE_TIMEOUT)


def probe_key(kind: str, config: Mapping[str, Any]) -> str:
    # Hashed: the configuration holds credentials, and the key outlives the request.
    return hashlib.sha256(
        f"{kind}|{json.dumps(dict(config), sort_keys=True, default=str)}".encode()
    ).hexdigest()


def _unreachable(kind: str) -> Readiness:
    return Readiness(False, f"{kind}_unreachable")


def probed(provider: PaymentProvider, method: PaymentMethod) -> Readiness:
    """The last probe of this method's service; starts a new one when the last is old."""
    config = dict(method.config)
    key = probe_key(provider.kind, config)
    stamped = PROBES.get(key)
    if stamped is None or clock.now() - stamped.at >= (GOOD_FOR if stamped.value.ready else BAD_FOR):
        PROBES.refresh_soon(
            key, lambda: _probe_alone(provider, config), lambda _: _unreachable(provider.kind)
        )
    return stamped.value if stamped is not None else Readiness(False, "checking")


async def _probe_alone(provider: PaymentProvider, config: Mapping[str, Any]) -> Readiness:
    async with outside_client(PROBE_TIMEOUT) as http:
        return await provider.probe(config, http)


async def probe_now(provider: PaymentProvider, config: Mapping[str, Any]) -> Readiness:
    key = probe_key(provider.kind, config)
    return await PROBES.refresh_now(
        key, lambda: _probe_alone(provider, config), lambda _: _unreachable(provider.kind)
    )


async def probe_all(maker: async_sessionmaker[AsyncSession], providers: Mapping[str, PaymentProvider]) -> int:
    """Probe every enabled method that has an outside service (startup; tests). Returns how many."""
    async with maker() as session, session.begin():
        rows = (
            await session.execute(
                select(PaymentMethod.kind, PaymentMethod.config).where(
                    PaymentMethod.enabled.is_(True), PaymentMethod.kind.in_(list(providers))
                )
            )
        ).all()
    # The transaction is over before any probe starts.
    await asyncio.gather(*(probe_now(providers[kind], dict(config)) for kind, config in rows))
    return len(rows)
