"""What every payment provider gives and takes: an instruction out, evidence in.

Providers that talk to an outside service do it only through the async methods marked as such,
which are never called from inside a database transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.errors import DomainError
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod

if TYPE_CHECKING:
    import httpx


class ProviderUnavailable(DomainError):
    status, type, title = 503, "payment-provider-unavailable", "The payment provider could not be reached"


class SignatureInvalid(DomainError):
    status, type, title = 401, "signature-invalid", "The callback signature is missing or not valid"


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
    wallet_id: int | None = None
    derivation_index: int | None = None


@dataclass(frozen=True)
class PendingInstruction:
    """What a remote provider needs to open its side of an instruction (copied out of the database)."""

    instruction_id: int
    order_number: str
    store_slug: str
    total: Decimal
    currency: str
    expires_at: datetime
    return_url: str | None = None


@dataclass(frozen=True)
class PreparedInstruction:
    """The provider's side of an instruction: its id, and what the buyer pays where."""

    provider_ref: str
    asset: str
    amount: Decimal
    destination: str
    uri: str | None
    rate: Decimal | None = None
    expires_at: datetime | None = None
    status: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # Details only the paying buyer may see (Stripe's client_secret): sealed at rest with the server
    # key (notifications.sealing), kept out of logs and of the tracking API's answer.
    sealed: dict[str, str] = field(default_factory=dict)


def sealed_context(instruction_id: int, name: str) -> str:
    """What a sealed detail is bound to: its instruction and its name (no row can borrow another's)."""
    return f"payment_instruction:{instruction_id}:{name}"


@dataclass(frozen=True)
class Evidence:
    """One payment as the provider reports it."""

    reference: str
    amount: Decimal
    confirmations: int
    asset: str | None = None
    # The provider's word on whether it was paid within the window; None: our clock decides.
    in_time: bool | None = None
    # False: the provider says the payment is not good (double spend, failed).
    valid: bool = True


@dataclass(frozen=True)
class RefundUpdate:
    """What a provider says of a refund it was asked for: its state now (pending, succeeded or
    failed, in our words), its id there, and our refund's id where the provider echoes it back."""

    state: str
    provider_reference: str | None = None
    public_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """A verified callback, parsed: what happened, to which of our instructions."""

    event_id: str
    type: str
    provider_ref: str | None = None
    instruction_hint: int | None = None
    evidence: tuple[Evidence, ...] = ()
    status: str | None = None
    # The provider says the whole amount is paid and final.
    settled: bool = False
    # ...and the store's operator marked it so by hand: fund what is still due.
    marked_paid: bool = False
    note: str | None = None
    # A refund of ours moved at the provider (Stripe's refund.* events).
    refund: RefundUpdate | None = None

    @property
    def actionable(self) -> bool:
        return bool(self.evidence or self.status or self.settled or self.note or self.refund)


class PaymentProvider(Protocol):
    kind: str
    # True: the instruction's destination comes from an outside service, after the order is stored.
    remote: bool

    def asset(self, method: PaymentMethod, currency: str) -> str: ...

    def readiness(self, method: PaymentMethod, settings: Settings) -> Readiness:
        """Configuration valid and (for outside services) the last probe good. No I/O."""
        ...

    def quote(self, method: PaymentMethod, total: Decimal, currency: str) -> Decimal: ...

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
        """A new instruction; runs inside the order's transaction, so database work only."""
        ...

    async def probe(self, config: Mapping[str, Any], http: httpx.AsyncClient) -> Readiness:
        """Outside I/O: is the service reachable and the credential accepted? Never in a transaction."""
        ...


class RemoteProvider(PaymentProvider, Protocol):
    seals_details: bool  # its PreparedInstruction.sealed needs the server key to be stored

    async def prepare(
        self, config: Mapping[str, Any], pending: PendingInstruction, http: httpx.AsyncClient
    ) -> PreparedInstruction:
        """Outside I/O: open the invoice / payment intent. Raises ProviderUnavailable."""
        ...

    def verify_callback(
        self, config: Mapping[str, Any], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> bool: ...

    def parse_callback(self, body: bytes) -> ProviderEvent:
        """Raises ValueError for a body that is not one of the provider's events."""
        ...
