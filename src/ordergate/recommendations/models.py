"""Co-occurrence counts of products in counted orders, where suggestions were added to carts, and
the bundle offers operators approve."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.clock import now
from ordergate.db import Base, UTCDateTime


class ProductPair(Base):
    """How many counted orders held both products. Kept for both orders of a pair, so a lookup by
    one product is a single index range; the diagonal (a, a) is how many counted orders held a."""

    __tablename__ = "product_pairs"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    other_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    orders: Mapped[int] = mapped_column(Integer, default=0)


class SuggestionAdd(Base):
    """A buyer pressed "Add" on a suggestion: the funnel report joins it to the checkout's order."""

    __tablename__ = "suggestion_adds"
    __table_args__ = (Index("ix_suggestion_adds_store_id_created_at", "store_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    # SHA-256 of the checkout id, as orders.checkout_hash holds it: never the id itself.
    checkout_hash: Mapped[str] = mapped_column(String(64), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class FoldCursor(Base):
    """How far the worker has folded the order event log into product_pairs (one row, id 1)."""

    __tablename__ = "recommendation_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)


class Bundle(Base):
    """An offer on a pair of products, "A with B: N % off B", proposed from the bought-together
    counts. Only an approved bundle prices anything, for every buyer alike (checkout/pricing.py)."""

    __tablename__ = "bundles"
    __table_args__ = (
        UniqueConstraint("store_id", "product_a_id", "product_b_id"),
        Index("ix_bundles_store_id_state", "store_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    product_a_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    product_b_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    percent_off: Mapped[int] = mapped_column(Integer)  # whole percent off B, 1..90
    state: Mapped[str] = mapped_column(String(16))  # proposed | approved | retired
    # Orders that held both products when the bundle was proposed (product_pairs).
    support: Mapped[int] = mapped_column(Integer, default=0)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retired_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
