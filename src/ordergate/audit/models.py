"""Audit tables: one row per operator action, written in the action's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.clock import now
from ordergate.db import Base, UTCDateTime


class AuditEntry(Base):
    """Append-only. `actor` is how the operator is named ("key og_abc", "ada@shop.example"),
    `actor_kind` key, staff or system; `detail` never holds a secret."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_store_id_id", "store_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor: Mapped[str] = mapped_column(String(320))
    actor_kind: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
