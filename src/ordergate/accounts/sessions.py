"""Signed-in sessions: a random token in an HttpOnly cookie, stored as SHA-256, ending after a
while unused (idle) and after a fixed time whatever happens (absolute)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.accounts.models import ACTIVE, Account, AccountSession, PasskeyChallenge, VerificationCode
from ordergate.settings import Settings
from ordergate.sql import rowcount

# Writing last_seen_at on every request would make every page a write; once a minute is enough.
TOUCH_EVERY = timedelta(minutes=1)
CODE_KEPT = timedelta(days=1)  # spent and expired codes stay a day (to answer "already used")


def idle_lifetime(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.account_session_idle_seconds)


def absolute_lifetime(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.account_session_max_seconds)


async def start_session(session: AsyncSession, account: Account, *, method: str, settings: Settings) -> str:
    """A new session for `account`; returns the token for the cookie (stored only hashed)."""
    token = security.new_token()
    now = clock.now()
    session.add(
        AccountSession(
            account_id=account.id,
            token_hash=security.hash_token(token),
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + absolute_lifetime(settings),
        )
    )
    await session.flush()
    return token


async def resume_session(
    session: AsyncSession, token: str | None, *, settings: Settings
) -> tuple[Account, AccountSession] | None:
    """The account behind a cookie's token, or None (unknown, idle too long, or past its end)."""
    if not token or len(token) > 128:
        return None
    row = await session.scalar(
        select(AccountSession).where(AccountSession.token_hash == security.hash_token(token))
    )
    if row is None:
        return None
    now = clock.now()
    if row.expires_at <= now or row.last_seen_at + idle_lifetime(settings) <= now:
        await session.execute(delete(AccountSession).where(AccountSession.id == row.id))
        return None
    account = await session.get(Account, row.account_id)
    if account is None or account.status != ACTIVE:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        await session.execute(
            update(AccountSession)
            .where(AccountSession.id == row.id)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        row.last_seen_at = now
    return account, row


async def end_session(session: AsyncSession, token: str | None) -> int:
    if not token:
        return 0
    result = await session.execute(
        delete(AccountSession).where(AccountSession.token_hash == security.hash_token(token))
    )
    return rowcount(result)


async def end_all_sessions(session: AsyncSession, account: Account) -> int:
    """Sign out everywhere: every session of the account, this one included."""
    result = await session.execute(delete(AccountSession).where(AccountSession.account_id == account.id))
    return rowcount(result)


async def sweep_account_records(session: AsyncSession, *, settings: Settings) -> int:
    """Drop what can never be used again: sessions past their end or idle too long, codes a day
    past their expiry, expired passkey challenges (the worker calls this each pass)."""
    now = clock.now()
    removed = 0
    for stmt in (
        delete(AccountSession).where(
            (AccountSession.expires_at <= now)
            | (AccountSession.last_seen_at <= now - idle_lifetime(settings))
        ),
        delete(VerificationCode).where(VerificationCode.expires_at <= now - CODE_KEPT),
        delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now),
    ):
        result = await session.execute(stmt.execution_options(synchronize_session=False))
        removed += rowcount(result)
    return removed
