"""Naming who acts (`Actor`), recording what they did (`record`, in the caller's transaction, so an
action and its audit row commit or roll back together) and reading the log back (`entries`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.audit.models import AuditEntry

ActorKind = Literal["key", "staff", "system"]
KEY: ActorKind = "key"
STAFF: ActorKind = "staff"
SYSTEM: ActorKind = "system"
MAX_PAGE = 200


@dataclass(frozen=True)
class Actor:
    """Who does an operator action: an API key (machines; its holder counts as the owner), a staff
    member (by email) or the system (CLI, store file, worker). `address` is the client address as
    the rate limiter sees it (the socket peer, or what a trusted proxy says)."""

    label: str
    kind: ActorKind
    address: str | None = None

    @classmethod
    def for_key(cls, key_id: str, address: str | None = None) -> Actor:
        return cls(f"key {key_id}", KEY, address)

    @classmethod
    def for_staff(cls, email: str, address: str | None = None) -> Actor:
        return cls(email, STAFF, address)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(label, SYSTEM, None)

    async def record(
        self,
        session: AsyncSession,
        *,
        store_id: int,
        action: str,
        target: str,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """`record()` with this actor's name, kind and address."""
        return await record(
            session,
            store_id=store_id,
            actor=self.label,
            actor_kind=self.kind,
            action=action,
            target=target,
            detail=detail,
            address=self.address,
        )


async def record(
    session: AsyncSession,
    *,
    store_id: int,
    actor: str,
    actor_kind: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    address: str | None = None,
) -> AuditEntry:
    """One audit row, added to the caller's transaction (flushed, never committed here). `action`
    is dotted ("order.ship", "refund.create"), `target` what it acted on (an order number, a sku)."""
    entry = AuditEntry(
        store_id=store_id,
        at=clock.now(),
        actor=actor[:320],
        actor_kind=actor_kind,
        action=action[:64],
        target=target[:200],
        detail=detail or {},
        address=address[:64] if address else None,
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None = None  # pass as `before` for the next (older) page


async def entries(
    session: AsyncSession,
    *,
    store_id: int,
    actor: str | None = None,
    action: str | None = None,
    before: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> AuditPage:
    """Newest first, keyset-paged on id. `action` matches a whole action or a prefix ending at a
    dot ("order" finds "order.ship"); `actor` matches the label exactly."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(AuditEntry).where(AuditEntry.store_id == store_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        prefix = AuditEntry.action.startswith(action + ".", autoescape=True)
        query = query.where((AuditEntry.action == action) | prefix)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    rows = list(await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1].id if more and rows else None)


async def known_actors(session: AsyncSession, *, store_id: int) -> list[str]:
    """Every actor that appears in the store's log (for a filter)."""
    found = await session.scalars(
        select(AuditEntry.actor).where(AuditEntry.store_id == store_id).distinct().order_by(AuditEntry.actor)
    )
    return list(found)
