"""Order tables: orders, their lines, their event log and shipments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ordergate.clock import now
from ordergate.db import Base, MoneyType, UTCDateTime

if TYPE_CHECKING:
    from ordergate.payments.models import PaymentInstruction, Refund


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "number"),
        UniqueConstraint("store_id", "idempotency_key"),
        Index("ix_orders_store_id_status", "store_id", "status"),
        Index("ix_orders_store_id_created_at", "store_id", "created_at"),
        # One order per order of another channel (intake); guest orders have no external id.
        UniqueConstraint("store_id", "source", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token sealed with the server key: later messages carry the tracking link (notifications).
    link_seal: Mapped[str | None] = mapped_column(String(200), nullable=True)
    checkout_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(32), default="web-guest")
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(MoneyType)
    shipping: Mapped[Decimal] = mapped_column(MoneyType)
    # Bundle discounts taken off the subtotal (total = subtotal - discount + shipping), and what
    # each was: [{"bundle", "label", "sku", "amount"}]. Channel orders report theirs net in subtotal.
    discount: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal(0), server_default="0")
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    total: Mapped[Decimal] = mapped_column(MoneyType)
    # What the order's accepted refunds give back (payments/refunds.py keeps it; loyalty follows it).
    refunded: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal(0), server_default="0")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    delivery: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    accepted_policies: Mapped[list[str]] = mapped_column(JSON, default=list)
    payment_method: Mapped[str] = mapped_column(String(64))
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # A channel's test order (Shopify's `test: true`): shown, but it holds no stock, sends no
    # message and counts in no report.
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # Bumped by orders.document on every change to the order or its rows: the tracking ETag.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The tracking answer (without the token) as JSON text, valid until `tracking_until` (None:
    # until the next change); None when a change made it stale. Maintained by orders.document.
    tracking: Mapped[str | None] = mapped_column(Text, nullable=True)
    tracking_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    lines: Mapped[list[OrderLine]] = relationship(lazy="raise", order_by="OrderLine.id")
    events: Mapped[list[OrderEvent]] = relationship(lazy="raise", order_by="OrderEvent.id")
    shipments: Mapped[list[Shipment]] = relationship(lazy="raise", order_by="Shipment.id")
    instructions: Mapped[list[PaymentInstruction]] = relationship(
        lazy="raise", order_by="PaymentInstruction.id"
    )
    refunds: Mapped[list[Refund]] = relationship(lazy="raise", order_by="Refund.id")


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), nullable=True
    )
    sku: Mapped[str] = mapped_column(String(64))
    external_sku: Mapped[str | None] = mapped_column(String(128), nullable=True)  # as the channel sent it
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MoneyType)
    line_total: Mapped[Decimal] = mapped_column(MoneyType)
    # The bundle discount on this line (its share of the order's discount): refunds give back the rest.
    discount: Mapped[Decimal] = mapped_column(MoneyType, default=Decimal(0), server_default="0")


class OrderEvent(Base):
    """Append-only: every state move and every piece of evidence about an order."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    actor: Mapped[str] = mapped_column(String(320), default="system")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(100))
    tracking_number: Mapped[str] = mapped_column(String(100))
    evidence: Mapped[str] = mapped_column(String(2000), default="")
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
