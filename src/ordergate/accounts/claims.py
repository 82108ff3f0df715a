"""One-time codes: turning a guest order into an account, signing in with a code, adding a contact.

A code is 6 digits, stored as an HMAC (keyed with the server secret), valid 15 minutes, spent by
its first right answer, dead after a few wrong ones, and sent through the notifications outbox in
the same transaction. Sending and checking are rate limited per order (or contact) and per client
address, in the database so that every process counts the same hits.

Wrong answers and rate limits raise errors that the routes render without rolling back: the hit
that was counted must stay counted."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock, security
from ordergate.accounts.errors import InvalidCode, RateLimited
from ordergate.accounts.models import EMAIL, PHONE, Account, AccountContact, VerificationCode
from ordergate.accounts.schemas import CodeSentOut, SignInRequestOut
from ordergate.accounts.service import (
    attach_orders,
    contact_key,
    kind_of,
    mask,
    prove_contact,
    random_digits,
)
from ordergate.errors import Conflict, NotFound, Unprocessable
from ordergate.notifications.service import enqueue_verification_code
from ordergate.orders.models import Order
from ordergate.orders.service import load_order
from ordergate.ratelimit import Limit, wait_for
from ordergate.settings import Settings
from ordergate.sql import rowcount
from ordergate.stores.models import Store

CLAIM, SIGN_IN, CONTACT = "claim", "sign_in", "contact"
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


def verify_url(settings: Settings, store: Store, public_id: str) -> str:
    return f"{settings.base_url.rstrip('/')}/account/{store.slug}/verify/{public_id}"


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
        verify_url=verify_url(settings, store, public_id),
    )
    return row


async def _spend(session: AsyncSession, row: VerificationCode | None, code: str, settings: Settings) -> None:
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


# --- guest: turn an order into an account -------------------------------------------------------


def _order_contact(order: Order, channel: str | None) -> tuple[str, str]:
    if channel == "phone" or (channel is None and not order.email):
        if not order.phone:
            raise Unprocessable("This order has no phone number to send a code to", field="channel")
        return PHONE, order.phone
    if not order.email:
        raise Unprocessable("This order has no email address to send a code to", field="channel")
    return EMAIL, order.email


async def start_claim(
    session: AsyncSession,
    store: Store,
    token: str,
    *,
    channel: str | None,
    client: str,
    settings: Settings,
) -> CodeSentOut:
    """Send a code to the order's contact, the first half of "create account"."""
    order = await load_order(session, store, token=token)
    await check_rate(
        session,
        action="send",
        target=f"order:{order.id}",
        client=client,
        target_limit=SEND_PER_TARGET,
        client_limit=SEND_PER_CLIENT,
    )
    kind, value = _order_contact(order, channel)
    row = await issue_code(
        session, store, purpose=CLAIM, kind=kind, value=value, settings=settings, order=order
    )
    return CodeSentOut(
        sent_to=mask(kind, value),
        channel="email" if kind == EMAIL else "sms",
        challenge=row.public_id,
        expires_at=row.expires_at,
        verify_url=verify_url(settings, store, row.public_id),
    )


async def finish_claim(
    session: AsyncSession, store: Store, token: str, code: str, *, client: str, settings: Settings
) -> tuple[Account, int]:
    """Check the code for the order's latest claim; returns the account and how many orders it got."""
    order = await load_order(session, store, token=token)
    await check_rate(
        session,
        action="check",
        target=f"order:{order.id}",
        client=client,
        target_limit=CHECK_PER_TARGET,
        client_limit=CHECK_PER_CLIENT,
    )
    digits = clean_code(code)
    row = await session.scalar(
        select(VerificationCode)
        .where(VerificationCode.order_id == order.id, VerificationCode.purpose == CLAIM)
        .order_by(VerificationCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    await _spend(session, row, digits, settings)
    assert row is not None
    return await _proven(session, store, row)


async def _proven(session: AsyncSession, store: Store, row: VerificationCode) -> tuple[Account, int]:
    account = await prove_contact(session, kind=row.contact_kind, value=row.contact_value)
    attached = await attach_orders(session, account, store)
    return account, attached


# --- sign in with a code, and the verify page's code ---------------------------------------------


async def start_sign_in(
    session: AsyncSession, store: Store, contact: str, *, client: str, settings: Settings
) -> SignInRequestOut:
    """A sign-in code to `contact`. Always the same answer: a contact with no account and no order
    in this store gets nothing, and the caller cannot tell."""
    kind = kind_of(contact)
    value = contact_key(kind, contact)
    await check_rate(
        session,
        action="send",
        target=f"contact:{kind}:{value}",
        client=client,
        target_limit=SEND_PER_TARGET,
        client_limit=SEND_PER_CLIENT,
    )
    # Nothing to sign in to: the code row is made all the same (so the answer looks the same),
    # but no message goes out.
    known = await _known_contact(session, store, kind, value)
    row = await issue_code(
        session, store, purpose=SIGN_IN, kind=kind, value=value, settings=settings, send=known
    )
    return SignInRequestOut(
        challenge=row.public_id,
        verify_url=verify_url(settings, store, row.public_id),
        expires_at=row.expires_at,
    )


async def _known_contact(session: AsyncSession, store: Store, kind: str, value: str) -> bool:
    if await session.scalar(
        select(AccountContact.id).where(AccountContact.kind == kind, AccountContact.value == value)
    ):
        return True
    match = func.lower(Order.email) == value if kind == EMAIL else Order.phone == value
    return bool(await session.scalar(select(Order.id).where(Order.store_id == store.id, match).limit(1)))


async def start_add_contact(
    session: AsyncSession, store: Store, account: Account, contact: str, *, client: str, settings: Settings
) -> CodeSentOut:
    """A code to a contact the signed-in buyer wants to add to the account."""
    kind = kind_of(contact)
    value = contact_key(kind, contact)
    await check_rate(
        session,
        action="send",
        target=f"contact:{kind}:{value}",
        client=client,
        target_limit=SEND_PER_TARGET,
        client_limit=SEND_PER_CLIENT,
    )
    row = await issue_code(
        session, store, purpose=CONTACT, kind=kind, value=value, settings=settings, account=account
    )
    return CodeSentOut(
        sent_to=mask(kind, value),
        channel="email" if kind == EMAIL else "sms",
        challenge=row.public_id,
        expires_at=row.expires_at,
        verify_url=verify_url(settings, store, row.public_id),
    )


async def pending_code(session: AsyncSession, store: Store, public_id: str) -> VerificationCode:
    row = await session.scalar(
        select(VerificationCode).where(
            VerificationCode.public_id == public_id, VerificationCode.store_id == store.id
        )
    )
    if row is None:
        raise NotFound("No such code request", field="challenge")
    return row


async def finish_code(
    session: AsyncSession,
    store: Store,
    public_id: str,
    code: str,
    *,
    account: Account | None,
    client: str,
    settings: Settings,
) -> tuple[Account, int, str]:
    """Spend a code by its request id (the verify page, or the API). Returns the account, how many
    orders it got, and the code's purpose. A contact code needs the account that asked for it."""
    row = await pending_code(session, store, public_id)
    target = f"order:{row.order_id}" if row.order_id else f"contact:{row.contact_kind}:{row.contact_value}"
    await check_rate(
        session,
        action="check",
        target=target,
        client=client,
        target_limit=CHECK_PER_TARGET,
        client_limit=CHECK_PER_CLIENT,
    )
    digits = clean_code(code)
    if row.purpose == CONTACT and (account is None or account.id != row.account_id):
        raise Conflict("Sign in to the account that asked for this code first", field="challenge")
    locked = await session.scalar(
        select(VerificationCode).where(VerificationCode.id == row.id).with_for_update()
    )
    await _spend(session, locked, digits, settings)
    if row.purpose == CONTACT:
        assert account is not None
        owner = await prove_contact(session, kind=row.contact_kind, value=row.contact_value, account=account)
        return owner, await attach_orders(session, owner, store), row.purpose
    owner, attached = await _proven(session, store, row)
    return owner, attached, row.purpose
