"""Store tables: the store, its policies, payment methods and operator keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ordergate.clock import now
from ordergate.db import Base, UTCDateTime

if TYPE_CHECKING:
    from ordergate.recommendations.models import Bundle


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(16), default="en_GB")
    guest_checkout_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    account_required: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivery_fields_by_country: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # Asked for but not required (the console's "optional"); the required ones are delivery_fields.
    delivery_fields_optional: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Shown to buyers instead of the standard sentence while guest checkout is off.
    guest_checkout_note: Mapped[str] = mapped_column(String(300), default="")
    notification_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    loyalty_points_per_unit: Mapped[str] = mapped_column(String(20), default="0")
    automatic_accounts: Mapped[bool] = mapped_column(Boolean, default=False)
    shipping_flat: Mapped[str] = mapped_column(String(40), default="0")
    checkout_ttl_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payment_window_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    policies: Mapped[list[Policy]] = relationship(lazy="raise", order_by="Policy.position")
    payment_methods: Mapped[list[PaymentMethod]] = relationship(
        lazy="raise", order_by="PaymentMethod.position"
    )
    # The approved bundles, loaded (and cached) with the store: pricing reads them with no statement.
    offers: Mapped[list[Bundle]] = relationship(
        "Bundle",
        primaryjoin="and_(Store.id == foreign(Bundle.store_id), Bundle.state == 'approved')",
        viewonly=True,
        lazy="raise",
        order_by="Bundle.id",
    )


class Policy(Base):
    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("store_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    summary: Mapped[str] = mapped_column(String(2000), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class PolicyVersion(Base):
    """Every version a policy has had, kept for the orders that accepted it ("<key>@<version>")."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("store_id", "policy_key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    policy_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    summary: Mapped[str] = mapped_column(String(2000), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class PaymentMethod(Base):
    __tablename__ = "payment_methods"
    __table_args__ = (UniqueConstraint("store_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))
    asset: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    required_confirmations: Mapped[int] = mapped_column(Integer, default=1)
    payment_window_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)


class OperatorKey(Base):
    __tablename__ = "operator_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
