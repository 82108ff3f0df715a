"""Payment tables: instructions given to the buyer, and every transaction seen against them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ordergate.clock import now
from ordergate.db import Base, MoneyType, UTCDateTime


class PaymentInstruction(Base):
    """What the buyer was told to pay; a refreshed order gets a new one, the old one stays."""

    __tablename__ = "payment_instructions"
    __table_args__ = (Index("ix_payment_instructions_active_expires", "superseded_at", "expires_at"),)

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
