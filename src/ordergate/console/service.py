"""Console sessions: signing in with an operator key, finding who is signed in, signing out; and the
few console reads no other service offers (an order's messages)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.audit.service import Actor
from ordergate.console.models import ConsoleSession
from ordergate.errors import DomainError, Unauthorized
from ordergate.notifications.models import OutboxMessage
from ordergate.notifications.schemas import OutboxMessageOut
from ordergate.notifications.service import outbox_view
from ordergate.orders.models import Order
from ordergate.ratelimit import allow, retry_after
from ordergate.stores.models import OperatorKey, Store
from ordergate.stores.service import authenticate_operator, get_store

IDLE = timedelta(minutes=30)  # a console left alone this long asks for the key again
LIFETIME = timedelta(hours=12)  # and after this long in any case
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often
SIGN_IN_ATTEMPTS = 10  # per client address and window: each try costs an argon2 verification
SIGN_IN_WINDOW = 300
MAX_TOKEN = 100
log = structlog.get_logger("ordergate.console")


class TooManyAttempts(DomainError):
    status, type, title = 429, "rate-limited", "Too many sign-in attempts"

    def __init__(self, retry_after_seconds: int):
        super().__init__(f"Too many sign-in attempts from this address: wait {retry_after_seconds} seconds")
        self.retry_after = retry_after_seconds


@dataclass(frozen=True)
class Operator:
    """Who is signed in: one operator key of one store (a session never reaches another store).
    `address` is the client's, set per request by the console's dependency."""

    store: Store
    key_id: str
    key_label: str
    operator_key_row: int
    session_id: int
    expires_at: datetime  # the absolute end; idle sessions end sooner
    address: str | None = None

    @property
    def actor(self) -> Actor:
        """How this operator is named in order events, stock movements and the audit log."""
        return Actor.for_key(self.key_id, self.address)


def _bucket(client: str) -> str:
    return "console:sign-in:" + hashlib.sha256(client.encode()).hexdigest()[:40]


async def sign_in(session: AsyncSession, *, key: str, client: str) -> tuple[str, Operator]:
    """A new console session for `key` (any active operator key; the session is for its store).
    Returns the session token, which is stored only as its hash."""
    if not await allow(session, _bucket(client), limit=SIGN_IN_ATTEMPTS, period=SIGN_IN_WINDOW):
        log.warning("console_sign_in_rate_limited")
        raise TooManyAttempts(retry_after(SIGN_IN_WINDOW))
    key = key.strip()
    if not key:
        raise Unauthorized("Enter the store's operator key", field="key")
    slug = await session.scalar(
        select(Store.slug)
        .join(OperatorKey, OperatorKey.store_id == Store.id)
        .where(OperatorKey.key_id == security.operator_key_id(key), OperatorKey.revoked_at.is_(None))
    )
    if slug is None:
        log.info("console_sign_in_refused", reason="unknown_key")
        raise Unauthorized("This key is not valid: check it, or ask for a new one", field="key")
    store = await get_store(session, slug)
    try:
        row = await authenticate_operator(session, store, key)  # the one place keys are verified
    except Unauthorized:
        log.info("console_sign_in_refused", reason="wrong_secret", store=slug)
        raise Unauthorized("This key is not valid: check it, or ask for a new one", field="key") from None
    now = clock.now()
    # Sessions that have ended are no use to anyone: clear them while we are here.
    await session.execute(
        delete(ConsoleSession)
        .where(or_(ConsoleSession.expires_at <= now, ConsoleSession.last_seen_at <= now - IDLE))
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    console_session = ConsoleSession(
        token_hash=security.hash_token(token),
        store_id=store.id,
        operator_key_id=row.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(console_session)
    await session.flush()
    log.info("console_signed_in", store=store.slug, key_id=row.key_id)  # the key's public id only
    operator = Operator(store, row.key_id, row.label, row.id, console_session.id, console_session.expires_at)
    return token, operator


async def signed_in(session: AsyncSession, token: str | None) -> Operator | None:
    """The operator whose session `token` is, while it is alive and its key is not revoked."""
    if not token or len(token) > MAX_TOKEN:
        return None
    now = clock.now()
    found = (
        await session.execute(
            select(ConsoleSession, OperatorKey, Store.slug)
            .join(OperatorKey, OperatorKey.id == ConsoleSession.operator_key_id)
            .join(Store, Store.id == ConsoleSession.store_id)
            .where(
                ConsoleSession.token_hash == security.hash_token(token),
                ConsoleSession.expires_at > now,
                ConsoleSession.last_seen_at > now - IDLE,
                OperatorKey.revoked_at.is_(None),
                OperatorKey.store_id == ConsoleSession.store_id,
            )
        )
    ).first()
    if found is None:
        return None
    console_session, key, slug = found
    if now - console_session.last_seen_at >= TOUCH_EVERY:
        console_session.last_seen_at = now
    store = await get_store(session, slug)
    return Operator(store, key.key_id, key.label, key.id, console_session.id, console_session.expires_at)


async def sign_out(session: AsyncSession, token: str | None) -> None:
    if token and len(token) <= MAX_TOKEN:
        await session.execute(
            delete(ConsoleSession)
            .where(ConsoleSession.token_hash == security.hash_token(token))
            .execution_options(synchronize_session=False)
        )


async def end_key_sessions(session: AsyncSession, operator_key_row: int) -> None:
    """A revoked key's sessions end now (they are refused anyway; this clears them)."""
    await session.execute(
        delete(ConsoleSession)
        .where(ConsoleSession.operator_key_id == operator_key_row)
        .execution_options(synchronize_session=False)
    )


async def order_messages(session: AsyncSession, store: Store, number: str) -> list[OutboxMessageOut]:
    """The messages written for one order (to its buyer), oldest first, as the outbox shows them."""
    rows = await session.execute(
        select(OutboxMessage, Order.number)
        .join(Order, Order.id == OutboxMessage.order_id)
        .where(Order.store_id == store.id, Order.number == number.strip().upper())
        .order_by(OutboxMessage.id)
    )
    return [outbox_view(message, order_number) for message, order_number in rows]
