"""Checkout table: one guest's temporary session in one store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.clock import now
from ordergate.db import Base, UTCDateTime


class Checkout(Base):
    __tablename__ = "checkouts"
    __table_args__ = (
        Index("ix_checkouts_status_expires_at", "status", "expires_at"),
        Index("ix_checkouts_store_id_created_at", "store_id", "created_at"),
    )

    # SHA-256 of the checkout id: the id is a secret in the resume link and is never stored.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    # [{"sku": str, "quantity": int}] in the buyer's order; prices are read live until the order.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # None is SQL NULL (not JSON null): `delivery IS NULL` means no delivery details.
    delivery: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    prepared_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Set when a signed-in buyer checks out; guest checkouts have none (guest routes read no credentials).
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Funnel milestones (no personal data): when the buyer first gave a contact and first saw a quote.
    contact_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    quoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
