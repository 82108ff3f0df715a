"""Console tables: signed-in operator sessions (the token is stored only as its SHA-256)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.clock import now
from ordergate.db import Base, UTCDateTime


class ConsoleSession(Base):
    """One browser signed in with one operator key: ends when idle too long, at its absolute end,
    at sign-out, or when its key is revoked (checked on every request)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    operator_key_id: Mapped[int] = mapped_column(
        ForeignKey("operator_keys.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
