"""Payment providers: the PaymentProvider protocol (payments.protocol), the simple providers
(sandbox, manual) and the registry of every kind."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import money
from ordergate.payments.btcpay import BtcpayProvider
from ordergate.payments.onchain import OnchainProvider
from ordergate.payments.protocol import (
    Evidence,
    InstructionDraft,
    OrderToPay,
    PaymentProvider,
    PendingInstruction,
    PreparedInstruction,
    ProviderEvent,
    Readiness,
    RemoteProvider,
)
from ordergate.payments.readiness import probe_all
from ordergate.payments.stripe import StripeProvider
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod

if TYPE_CHECKING:
    import httpx

log = structlog.get_logger("ordergate.payments")

__all__ = [
    "PROVIDERS",
    "Evidence",
    "InstructionDraft",
    "ManualProvider",
    "OrderToPay",
    "PaymentProvider",
    "PendingInstruction",
    "PreparedInstruction",
    "ProviderEvent",
    "Readiness",
    "RemoteProvider",
    "SandboxProvider",
    "check_payment_methods",
    "provider_for",
    "remote_provider",
]


def _rate(method: PaymentMethod) -> Decimal | None:
    try:
        rate = Decimal(str(method.config.get("rate", "")))
    except InvalidOperation:
        return None
    return rate if rate.is_finite() and rate > 0 else None


class SandboxProvider:
    """A simulated on-chain asset: fresh address per instruction, payments recorded by hand."""

    kind = "sandbox"
    remote = False

    def asset(self, method: PaymentMethod, currency: str) -> str:
        return method.asset or "SBX"

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness:
        if not settings.sandbox:
            return Readiness(False, "sandbox_disabled")
        if _rate(method) is None:
            return Readiness(False, "rate_not_configured")
        return Readiness(True)

    def quote(self, method: PaymentMethod, total: Decimal, currency: str) -> Decimal:
        rate = _rate(method)
        assert rate is not None
        return money.convert(total, rate=rate, asset=self.asset(method, currency))

    async def instruction(
        self,
        session: AsyncSession,
        method: PaymentMethod,
        order: OrderToPay,
        *,
        settings: Settings,
        now: datetime,
        window: int,
    ) -> InstructionDraft:
        asset = self.asset(method, order.currency)
        amount = self.quote(method, order.total, order.currency)
        address = "sbx1q" + secrets.token_hex(19)
        return InstructionDraft(
            asset=asset,
            amount=amount,
            destination=address,
            uri=f"sandbox:{address}?amount={amount}&label={quote(order.number)}",
            required_confirmations=method.required_confirmations,
            expires_at=now + timedelta(seconds=window),
            rate=_rate(method),
        )

    async def probe(self, config: Mapping[str, Any], http: httpx.AsyncClient) -> Readiness:
        return Readiness(True)


class ManualProvider:
    """Bank transfer to the store's account, confirmed by the operator with the bank's evidence."""

    kind = "manual"
    remote = False
    REQUIRED = ("account_name", "iban")

    def asset(self, method: PaymentMethod, currency: str) -> str:
        return currency

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness:
        missing = [k for k in self.REQUIRED if not str(method.config.get(k, "")).strip()]
        if missing:
            return Readiness(False, "missing_" + "_".join(missing))
        return Readiness(True)

    def quote(self, method: PaymentMethod, total: Decimal, currency: str) -> Decimal:
        return money.quantize(total, currency)

    async def instruction(
        self,
        session: AsyncSession,
        method: PaymentMethod,
        order: OrderToPay,
        *,
        settings: Settings,
        now: datetime,
        window: int,
    ) -> InstructionDraft:
        iban = str(method.config["iban"]).replace(" ", "")
        return InstructionDraft(
            asset=order.currency,
            amount=money.quantize(order.total, order.currency),
            destination=iban,
            uri=None,
            required_confirmations=max(method.required_confirmations, 1),
            expires_at=now + timedelta(seconds=window),
            details={
                "account_name": method.config["account_name"],
                "bic": method.config.get("bic"),
                "reference": order.number,
            },
        )

    async def probe(self, config: Mapping[str, Any], http: httpx.AsyncClient) -> Readiness:
        return Readiness(True)


PROVIDERS: dict[str, PaymentProvider] = {
    p.kind: p
    for p in (SandboxProvider(), ManualProvider(), OnchainProvider(), BtcpayProvider(), StripeProvider())
}


def provider_for(method: PaymentMethod) -> PaymentProvider:
    return PROVIDERS[method.kind]


def remote_provider(kind: str) -> RemoteProvider | None:
    provider = PROVIDERS.get(kind)
    return cast(RemoteProvider, provider) if provider is not None and provider.remote else None


async def check_payment_methods(maker: async_sessionmaker[AsyncSession]) -> int:
    """Probe every method that has an outside service (app startup), so readiness is known before
    the first buyer arrives. Never raises: a failed probe only makes its method not ready."""
    outside = {kind: p for kind, p in PROVIDERS.items() if kind in ("onchain", "btcpay", "stripe")}
    try:
        return await probe_all(maker, outside)
    except Exception as exc:  # noqa: BLE001 - startup goes on; the methods stay "checking"
        log.warning("payment_checks_failed", error=type(exc).__name__)
        return 0
