"""Payment providers: each turns an order into a payment instruction and says whether it is ready."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import quote

from ordergate import money
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str | None = None


@dataclass(frozen=True)
class OrderToPay:
    number: str
    total: Decimal
    currency: str


@dataclass(frozen=True)
class InstructionDraft:
    asset: str
    amount: Decimal
    destination: str
    uri: str | None
    required_confirmations: int
    expires_at: datetime
    rate: Decimal | None = None
    details: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    kind: str

    def asset(self, method: PaymentMethod, currency: str) -> str: ...

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness: ...

    def quote(self, method: PaymentMethod, total: Decimal, currency: str) -> Decimal: ...

    def instruction(
        self, method: PaymentMethod, order: OrderToPay, *, settings: Settings, now: datetime, window: int
    ) -> InstructionDraft: ...


def _rate(method: PaymentMethod) -> Decimal | None:
    try:
        rate = Decimal(str(method.config.get("rate", "")))
    except InvalidOperation:
        return None
    return rate if rate.is_finite() and rate > 0 else None


class SandboxProvider:
    """A simulated on-chain asset: fresh address per instruction, payments recorded by hand."""

    kind = "sandbox"

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

    def instruction(
        self, method: PaymentMethod, order: OrderToPay, *, settings: Settings, now: datetime, window: int
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


class ManualProvider:
    """Bank transfer to the store's account, confirmed by the operator with the bank's evidence."""

    kind = "manual"
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

    def instruction(
        self, method: PaymentMethod, order: OrderToPay, *, settings: Settings, now: datetime, window: int
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


PROVIDERS: dict[str, PaymentProvider] = {p.kind: p for p in (SandboxProvider(), ManualProvider())}


def provider_for(method: PaymentMethod) -> PaymentProvider:
    return PROVIDERS[method.kind]
