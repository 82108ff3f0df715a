"""Console tables: staff members of a store, and signed-in sessions (the token stored only as its
SHA-256), each opened with an operator key or by a staff member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.clock import now
from ordergate.db import Base, UTCDateTime

OWNER, STAFF, VIEWER = "owner", "staff", "viewer"
ROLES = (OWNER, STAFF, VIEWER)


class StaffMember(Base):
    """A person who runs a store from the console, by email (lower-cased). `refund_limit` (store
    currency, minor units) caps one refund by a `staff` member; None means no refunds at all."""

    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("store_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(8))
    refund_limit: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ConsoleSession(Base):
    """One browser signed in with one operator key or as one staff member: ends when idle too long,
    at its absolute end, at sign-out, when its key is revoked or its staff member deactivated
    (checked on every request)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    operator_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("operator_keys.id", ondelete="CASCADE"), index=True, nullable=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True, nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
