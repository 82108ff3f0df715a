"""Account tables: accounts, their contacts, one-time codes, sessions, passkeys and the loyalty ledger.

Secrets are never stored as given: codes as an HMAC, session tokens as SHA-256. An account is one
person across the stores of this server; what it owns in a store (orders, points) is per store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.clock import now
from ordergate.db import Base, UTCDateTime

PENDING, ACTIVE = "pending", "active"
EMAIL, PHONE = "email", "phone"


class Account(Base):
    """`pending` until one of its contacts is verified (an automatic account); then `active`."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    # The WebAuthn user handle: random, never the id or a contact (authenticators may show it).
    user_handle: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountContact(Base):
    """An email address (lower-cased) or an E.164 phone number; at most one account holds each."""

    __tablename__ = "account_contacts"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(320))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class VerificationCode(Base):
    """A 6-digit code sent to one contact for one purpose: claim an order's account, sign in, or
    add a contact. `public_id` names the code in the verify page's address (it proves nothing)."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_verification_codes_order_id_purpose", "order_id", "purpose"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), nullable=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    contact_kind: Mapped[str] = mapped_column(String(8))
    contact_value: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountSession(Base):
    """A signed-in browser: the cookie's token stored as SHA-256, with idle and absolute expiry."""

    __tablename__ = "account_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[str] = mapped_column(String(16))  # how it signed in: code or passkey
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Passkey(Base):
    __tablename__ = "account_passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE key
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PasskeyChallenge(Base):
    """A WebAuthn challenge, single use and short-lived, kept in the database so any web process
    can finish a ceremony another one started."""

    __tablename__ = "passkey_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # register or sign_in
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    challenge: Mapped[str] = mapped_column(String(200))  # base64url
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoyaltyEntry(Base):
    """Append-only: points earned by a completed order, or taken back when it is cancelled.
    One entry of each kind per order at most; the balance is the sum."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        UniqueConstraint("order_id", "kind"),
        Index("ix_loyalty_entries_account_id_store_id", "account_id", "store_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # earned or reversed
    points: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(20))  # the store's points per unit when it was written
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
