"""One-time codes, whatever they prove: issued (6 digits, stored as an HMAC keyed with the server
secret, valid 15 minutes, sent through the notifications outbox in the caller's transaction), spent
once by their first right answer, dead after a few wrong ones; sending and checking rate limited per
target and per client address, in the database so every process counts the same hits.

Buyer accounts (claims.py) and console staff sign-in (console/staff.py) use them. Wrong answers and
rate limits raise errors that routes render without rolling back: the counted hit must stay."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.accounts.errors import InvalidCode, RateLimited
from ordergate.accounts.models import Account, VerificationCode
from ordergate.accounts.service import contact_key, random_digits
from ordergate.notifications.service import enqueue_verification_code
from ordergate.orders.models import Order
from ordergate.ratelimit import Limit, wait_for
from ordergate.settings import Settings
from ordergate.sql import rowcount
from ordergate.stores.models import Store

CODE_DIGITS = 6
CODE_MINUTES = 15
MAX_WRONG_PER_CODE = 5


SEND_PER_TARGET = Limit(per_minute=2, per_block=5)
SEND_PER_CLIENT = Limit(per_minute=5, per_block=20)
CHECK_PER_TARGET = Limit(per_minute=5, per_block=10)
CHECK_PER_CLIENT = Limit(per_minute=10, per_block=30)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


async def check_rate(
    session: AsyncSession, *, action: str, target: str, client: str, target_limit: Limit, client_limit: Limit
) -> None:
    waits = [
        await wait_for(session, f"acct:{action}:t:{_digest(target)}", target_limit),
        await wait_for(session, f"acct:{action}:a:{_digest(client)}", client_limit),
    ]
    blocked = [w for w in waits if w is not None]
    if blocked:
        wait = max(blocked)
        raise RateLimited(
            f"Too many attempts. Try again in {_wait_words(wait)}.", retry_after=wait, field="code"
        )


def _wait_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{seconds} seconds" if seconds < 90 else f"{minutes} minutes"


def _pepper(settings: Settings) -> bytes:
    # Outside the demo the secret key is required (settings refuse to start without one).
    secret = settings.secret_key.get_secret_value() if settings.secret_key else "ordergate-demo-codes"
    return hashlib.sha256(b"ordergate/account-codes/v1:" + secret.encode()).digest()


def hash_code(settings: Settings, public_id: str, code: str) -> str:
    return hmac.new(_pepper(settings), f"{public_id}:{code}".encode(), hashlib.sha256).hexdigest()


def clean_code(code: str) -> str:
    digits = "".join(code.split()).replace("-", "")
    if not digits:
        raise InvalidCode("Enter the code we sent you", field="code")
    if not (digits.isdigit() and len(digits) == CODE_DIGITS):
        raise InvalidCode(f"The code is {CODE_DIGITS} digits", field="code")
    return digits


async def issue_code(
    session: AsyncSession,
    store: Store,
    *,
    purpose: str,
    kind: str,
    value: str,
    settings: Settings,
    order: Order | None = None,
    account: Account | None = None,
    send: bool = True,
    link: Callable[[str], str],
) -> VerificationCode:
    """A new code for this purpose; earlier unspent ones for the same order or contact stop working."""
    now = clock.now()
    value = contact_key(kind, value)
    earlier = update(VerificationCode).where(
        VerificationCode.purpose == purpose, VerificationCode.used_at.is_(None)
    )
    if order is not None:
        earlier = earlier.where(VerificationCode.order_id == order.id)
    else:
        earlier = earlier.where(
            VerificationCode.store_id == store.id,
            VerificationCode.contact_kind == kind,
            VerificationCode.contact_value == value,
        )
    await session.execute(earlier.values(used_at=now).execution_options(synchronize_session=False))
    code = random_digits(CODE_DIGITS)
    public_id = security.new_token()
    row = VerificationCode(
        public_id=public_id,
        purpose=purpose,
        store_id=store.id,
        order_id=order.id if order is not None else None,
        account_id=account.id if account is not None else None,
        contact_kind=kind,
        contact_value=value,
        code_hash=hash_code(settings, public_id, code),
        attempts=0,
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    session.add(row)
    await session.flush()
    if not send:
        return row
    # The code travels sealed in the outbox row, written in this same transaction.
    await enqueue_verification_code(
        session,
        store,
        value,
        code,
        settings=settings,
        valid_minutes=CODE_MINUTES,
        dedupe_key=f"account-code:{public_id}",
        verify_url=link(public_id),
    )
    return row


async def spend(session: AsyncSession, row: VerificationCode | None, code: str, settings: Settings) -> None:
    """Accept `code` for `row` once, or raise InvalidCode (the wrong try is counted)."""
    if row is None:
        raise InvalidCode("No code is waiting here: ask for a new one", field="code")
    now = clock.now()
    if row.used_at is not None:
        raise InvalidCode("This code was already used or replaced by a newer one", field="code")
    if row.expires_at <= now:
        raise InvalidCode("This code has expired: ask for a new one", field="code")
    if row.attempts >= MAX_WRONG_PER_CODE:
        raise InvalidCode("Too many wrong tries for this code: ask for a new one", field="code")
    if not hmac.compare_digest(row.code_hash, hash_code(settings, row.public_id, code)):
        row.attempts += 1
        await session.flush()
        left = MAX_WRONG_PER_CODE - row.attempts
        raise InvalidCode(
            "That code is not right" + (f" ({left} tries left)" if left else ": ask for a new one"),
            field="code",
        )
    # Compare-and-set: two right answers at once spend it once.
    result = await session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise InvalidCode("This code was already used", field="code")
    row.used_at = now
