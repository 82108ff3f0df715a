"""Payment tables: instructions given to the buyer, every transaction seen against them, the on-chain
wallets addresses are derived from, and the inbox of provider callbacks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ordergate.clock import now
from ordergate.db import Base, MoneyType, UTCDateTime


class PaymentInstruction(Base):
    """What the buyer was told to pay; a refreshed order gets a new one, the old one stays."""

    __tablename__ = "payment_instructions"
    __table_args__ = (
        Index("ix_payment_instructions_active_expires", "superseded_at", "expires_at"),
        # An address derived from a wallet belongs to one instruction, ever.
        UniqueConstraint("wallet_id", "derivation_index"),
        Index("ix_payment_instructions_kind_provider_ref", "kind", "provider_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    rate: Mapped[Decimal | None] = mapped_column(MoneyType, nullable=True)
    destination: Mapped[str] = mapped_column(String(200), index=True)
    uri: Mapped[str | None] = mapped_column(String(500), nullable=True)
    required_confirmations: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The outside service's id for it (BTCPay invoice, Stripe PaymentIntent); None until prepared.
    provider_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    provider_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    wallet_id: Mapped[int | None] = mapped_column(
        ForeignKey("onchain_wallets.id", ondelete="RESTRICT"), nullable=True
    )
    derivation_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When money seen in time first covered the amount: the window stays open for confirmations.
    covered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Last time the worker looked at it (address watched, invoice asked for).
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    transactions: Mapped[list[PaymentTransaction]] = relationship(
        lazy="raise", order_by="PaymentTransaction.id"
    )


class PaymentTransaction(Base):
    """One incoming payment seen by a provider or recorded by the operator. Never deleted."""

    __tablename__ = "payment_transactions"
    __table_args__ = (UniqueConstraint("instruction_id", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("payment_instructions.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    confirmations: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # An unconfirmed transaction that vanished (replaced or evicted); kept, no longer counted.
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OnchainWallet(Base):
    """A watch-only wallet (xpub or descriptor, known only by a fingerprint): the next receive index."""

    __tablename__ = "onchain_wallets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    last_used_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class PaymentWebhookEvent(Base):
    """Every verified provider callback, stored before it is acted on; (provider, event id) is unique."""

    __tablename__ = "payment_webhook_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_payment_webhook_events_status_received_at", "status", "received_at"),
        Index("ix_payment_webhook_events_store_id_status", "store_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), nullable=True)
    method: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), nullable=True)
    # received -> processed | ignored | unmatched | failed (retried) | invalid
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    payload: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Refund(Base):
    """Money given back on an order: through its provider (Stripe, BTCPay), simulated (sandbox), or
    recorded with the operator's evidence (on-chain, bank). Pending rows count against what can
    still be refunded, so two refunds at once can never exceed what was paid."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_state_updated_at", "state", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyType)
    currency: Mapped[str] = mapped_column(String(16))
    # pending -> succeeded | failed (provider); recorded (evidence given by the operator)
    state: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    provider_target: Mapped[str | None] = mapped_column(String(200), nullable=True)  # intent / invoice
    provider_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the operator's evidence
    reason: Mapped[str] = mapped_column(String(500), default="")
    restock: Mapped[bool] = mapped_column(Boolean, default=False)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    actor: Mapped[str] = mapped_column(String(64), default="operator")
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    claim_url: Mapped[str | None] = mapped_column(String(500), nullable=True)  # BTCPay's pull payment
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
