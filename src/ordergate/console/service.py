"""Console sessions: signing in with an operator key (or, in staff.py, as a staff member), finding
who is signed in and with which role, signing out; and the few console reads no other service
offers (an order's messages)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, money, security
from ordergate.audit.service import Actor
from ordergate.console.models import OWNER, ConsoleSession, StaffMember
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
    """Who is signed in to one store (a session never reaches another store): an operator key's
    holder (the store's owner) or a staff member with a role. `address` is the client's, set per
    request by the console's dependency."""

    store: Store
    key_id: str | None
    key_label: str
    operator_key_row: int | None
    session_id: int
    expires_at: datetime  # the absolute end; idle sessions end sooner
    address: str | None = None
    staff_id: int | None = None
    email: str | None = None
    role: str = OWNER
    refund_limit: int | None = None  # minor units of the store currency; staff only

    @property
    def actor(self) -> Actor:
        """How this operator is named in order events, stock movements and the audit log."""
        if self.email is not None:
            return Actor.for_staff(self.email, self.address)
        return Actor.for_key(self.key_id or "?", self.address)

    def refund_ceiling(self) -> Decimal | None:
        """The most one refund by this operator may be (None: no limit; owners have none)."""
        if self.role == OWNER:
            return None
        minor = self.refund_limit or 0
        return Decimal(minor).scaleb(-money.exponent(self.store.currency))


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
    token, console_session = await open_session(session, store, operator_key_id=row.id)
    log.info("console_signed_in", store=store.slug, key_id=row.key_id)  # the key's public id only
    await Actor.for_key(row.key_id, client).record(
        session, store_id=store.id, action="console.sign_in", target="console"
    )
    operator = Operator(store, row.key_id, row.label, row.id, console_session.id, console_session.expires_at)
    return token, operator


async def open_session(
    session: AsyncSession, store: Store, *, operator_key_id: int | None = None, staff_id: int | None = None
) -> tuple[str, ConsoleSession]:
    """A new console session (for a key or a staff member); the token is stored only as its hash."""
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
        operator_key_id=operator_key_id,
        staff_id=staff_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(console_session)
    await session.flush()
    return token, console_session


async def signed_in(session: AsyncSession, token: str | None) -> Operator | None:
    """The operator whose session `token` is, while it is alive and its key is not revoked (or its
    staff member still active)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    now = clock.now()
    found = (
        await session.execute(
            select(ConsoleSession, OperatorKey, StaffMember, Store.slug)
            .outerjoin(
                OperatorKey,
                and_(
                    OperatorKey.id == ConsoleSession.operator_key_id,
                    OperatorKey.revoked_at.is_(None),
                    OperatorKey.store_id == ConsoleSession.store_id,
                ),
            )
            .outerjoin(
                StaffMember,
                and_(
                    StaffMember.id == ConsoleSession.staff_id,
                    StaffMember.active.is_(True),
                    StaffMember.store_id == ConsoleSession.store_id,
                ),
            )
            .join(Store, Store.id == ConsoleSession.store_id)
            .where(
                ConsoleSession.token_hash == security.hash_token(token),
                ConsoleSession.expires_at > now,
                ConsoleSession.last_seen_at > now - IDLE,
                or_(OperatorKey.id.is_not(None), StaffMember.id.is_not(None)),
            )
        )
    ).first()
    if found is None:
        return None
    console_session, key, staff, slug = found
    if now - console_session.last_seen_at >= TOUCH_EVERY:
        console_session.last_seen_at = now
    store = await get_store(session, slug)
    ends = console_session.expires_at
    if key is not None:
        return Operator(store, key.key_id, key.label, key.id, console_session.id, ends)
    return staff_operator(store, staff, console_session)


def staff_operator(store: Store, member: StaffMember, console_session: ConsoleSession) -> Operator:
    """The Operator of a staff member's session (their role and limit as they are now)."""
    return Operator(
        store,
        None,
        "",
        None,
        console_session.id,
        console_session.expires_at,
        staff_id=member.id,
        email=member.email,
        role=member.role,
        refund_limit=member.refund_limit,
    )


async def sign_out(session: AsyncSession, token: str | None) -> None:
    if token and len(token) <= MAX_TOKEN:
        await session.execute(
            delete(ConsoleSession)
            .where(ConsoleSession.token_hash == security.hash_token(token))
            .execution_options(synchronize_session=False)
        )


async def end_staff_sessions(session: AsyncSession, staff_id: int) -> None:
    """A deactivated staff member's sessions end now."""
    await session.execute(
        delete(ConsoleSession)
        .where(ConsoleSession.staff_id == staff_id)
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
