"""Product table (price, stock counters: on hand, reserved by open orders) and the stock ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.clock import now
from ordergate.db import Base, MoneyType, UTCDateTime


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("store_id", "sku"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="stock_bounds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    price: Mapped[Decimal] = mapped_column(MoneyType)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    image_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Below this many available units the product is listed as low (None: the store's default).
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def available_quantity(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class StockMovement(Base):
    """Append-only: one row for every change of a product's on-hand stock, with its cause."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_product_id_id", "product_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    # adjustment | import | config | order_funded | order_returned | order_released | refund_restock
    kind: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    # Holds of unpaid orders given back (expiry, cancellation) change reserved, not on hand.
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(320), default="system")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
