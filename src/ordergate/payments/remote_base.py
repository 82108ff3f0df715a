"""What BTCPay and Stripe share: a provider behind an outside HTTP API.

One base for the parts that must not drift apart: settings parsing, readiness (settings valid,
secrets set, last probe good), the pending instruction opened later by payments.remote, the
probe's answer mapping, and turning transport errors and bad answers into ProviderUnavailable.
The HTTP client (payments.outside: one client shape, one set of timeouts) is opened by the caller
(payments.remote, payments.readiness, the worker), outside any database transaction."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import money
from ordergate.errors import NotAvailable
from ordergate.payments.config import parsed_settings, secret_value
from ordergate.payments.protocol import InstructionDraft, OrderToPay, ProviderUnavailable, Readiness
from ordergate.payments.readiness import probed
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod

if TYPE_CHECKING:
    import httpx

C = TypeVar("C")


class RemoteProviderBase(abc.ABC, Generic[C]):
    """Subclasses set the class attributes and write `auth_headers`, `probe_url`, `prepare`,
    `verify_callback` and `parse_callback`."""

    kind: str
    name: ClassVar[str]  # as the operator knows it, in error details: "Stripe", "BTCPay"
    settings_type: ClassVar[type[Any]]
    secrets: ClassVar[tuple[str, ...]]  # settings that must hold a value (or a set env: variable)
    # Probe answers with a reason of their own (401/403 are always "unauthorized").
    probe_refusals: ClassVar[Mapping[int, str]] = {}
    remote = True
    # The provider's answer carries details sealed at rest (PreparedInstruction.sealed): preparing
    # it needs the server key.
    seals_details: ClassVar[bool] = False

    # -- settings -------------------------------------------------------------------------------

    def settings(self, config: Mapping[str, Any]) -> C | str:
        """The parsed settings, or the name of the first bad key."""
        parsed = parsed_settings(self.kind, config)
        return cast(C, parsed) if isinstance(parsed, self.settings_type) else str(parsed)

    def _valid(self, config: Mapping[str, Any]) -> C:
        cfg = self.settings(config)
        if isinstance(cfg, str):
            raise ProviderUnavailable(f"The {self.name} settings are not valid", field="payment_method")
        return cfg

    @abc.abstractmethod
    def auth_headers(self, key: str) -> dict[str, str]:
        """The headers that authenticate a call with the secret `key`."""

    def headers(self, cfg: C) -> dict[str, str]:
        """Request headers with the API credential (the first of `secrets`)."""
        key = secret_value(getattr(cfg, self.secrets[0]))
        if not key:
            raise ProviderUnavailable(f"The {self.name} API key is not set", field="payment_method")
        return self.auth_headers(key)

    # -- PaymentProvider: no I/O ----------------------------------------------------------------

    def asset(self, method: PaymentMethod, currency: str) -> str:
        return currency  # priced in the store's currency; the provider quotes anything else

    def amount_due(self, total: Decimal, currency: str) -> Decimal:
        """What the buyer is asked to pay for `total` (a provider may only charge some amounts)."""
        return money.quantize(total, currency)

    def quote(self, method: PaymentMethod, total: Decimal, currency: str) -> Decimal:
        return self.amount_due(total, currency)

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness:
        cfg = self.settings(method.config)
        if isinstance(cfg, str):
            return Readiness(False, f"invalid_setting:{cfg}")
        for name in self.secrets:
            if not secret_value(getattr(cfg, name)):
                return Readiness(False, f"missing_secret:{name}")
        return probed(self, method)

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
        if isinstance(self.settings(method.config), str):
            raise NotAvailable(f"Payment method {method.key} is misconfigured", field="payment_method")
        # Pending: the provider's side is opened once this transaction has committed (payments.remote).
        return InstructionDraft(
            asset=order.currency,
            amount=self.amount_due(order.total, order.currency),
            destination="",
            uri=None,
            required_confirmations=1,
            expires_at=now + timedelta(seconds=window),
            details={"preparing": True},
        )

    # -- outside I/O (never inside a transaction) -----------------------------------------------

    @abc.abstractmethod
    def probe_url(self, cfg: C) -> tuple[str, dict[str, Any]]:
        """A cheap authenticated read: URL and query parameters."""

    async def probe(self, config: Mapping[str, Any], http: httpx.AsyncClient) -> Readiness:
        import httpx

        cfg = self.settings(config)
        if isinstance(cfg, str):
            return Readiness(False, f"invalid_setting:{cfg}")
        url, params = self.probe_url(cfg)
        try:
            response = await http.get(url, params=params, headers=self.headers(cfg))
        except (httpx.HTTPError, ProviderUnavailable):
            return Readiness(False, f"{self.kind}_unreachable")
        if response.status_code in (401, 403):
            return Readiness(False, f"{self.kind}_unauthorized")
        if response.status_code in self.probe_refusals:
            return Readiness(False, self.probe_refusals[response.status_code])
        if response.status_code != 200:
            return Readiness(False, f"{self.kind}_unreachable")
        return Readiness(True)

    async def call(
        self,
        request: Awaitable[httpx.Response],
        what: str,
        *,
        ok: tuple[int, ...] = (200, 201),
        answer: bool = True,
    ) -> Any:
        """The JSON answer to `request`; ProviderUnavailable (503) when the provider cannot be
        reached, answers with another status, or answers something that is not JSON."""
        import httpx

        try:
            response = await request
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"{self.name} could not be reached to {what} ({type(exc).__name__})", field="payment_method"
            ) from None
        if response.status_code not in ok:
            raise ProviderUnavailable(
                f"{self.name} answered {response.status_code} when asked to {what}", field="payment_method"
            )
        if not answer:
            return None  # only the status counts (an action with no body to read)
        try:
            return response.json()
        except ValueError:
            raise ProviderUnavailable(
                f"{self.name}'s answer to {what} is not JSON", field="payment_method"
            ) from None
