"""Buyer codes (accounts/codes.py): turning a guest order into an account, signing in with a
code, adding a contact. Each sends a code to the order's or the buyer's contact and spends it on
the account verify page or through the account API."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.accounts.codes import (
    CHECK_PER_CLIENT,
    CHECK_PER_TARGET,
    SEND_PER_CLIENT,
    SEND_PER_TARGET,
    check_rate,
    clean_code,
    issue_code,
    spend,
)
from ordergate.accounts.models import EMAIL, PHONE, Account, AccountContact, VerificationCode
from ordergate.accounts.schemas import CodeSentOut, SignInRequestOut
from ordergate.accounts.service import attach_orders, contact_key, kind_of, mask, prove_contact
from ordergate.errors import Conflict, NotFound, Unprocessable
from ordergate.orders.models import Order
from ordergate.orders.service import load_order
from ordergate.settings import Settings
from ordergate.stores.models import Store

CLAIM, SIGN_IN, CONTACT = "claim", "sign_in", "contact"
BUYER_PURPOSES = (CLAIM, SIGN_IN, CONTACT)


def verify_url(settings: Settings, store: Store, public_id: str) -> str:
    return f"{settings.base_url.rstrip('/')}/account/{store.slug}/verify/{public_id}"


def _account_link(settings: Settings, store: Store) -> Callable[[str], str]:
    return lambda public_id: verify_url(settings, store, public_id)


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
        session,
        store,
        purpose=CLAIM,
        kind=kind,
        value=value,
        settings=settings,
        order=order,
        link=_account_link(settings, store),
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
    await spend(session, row, digits, settings)
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
        session,
        store,
        purpose=SIGN_IN,
        kind=kind,
        value=value,
        settings=settings,
        send=known,
        link=_account_link(settings, store),
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
        session,
        store,
        purpose=CONTACT,
        kind=kind,
        value=value,
        settings=settings,
        account=account,
        link=_account_link(settings, store),
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
            VerificationCode.public_id == public_id,
            VerificationCode.store_id == store.id,
            VerificationCode.purpose.in_(BUYER_PURPOSES),  # a staff sign-in code is no buyer's
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
    await spend(session, locked, digits, settings)
    if row.purpose == CONTACT:
        assert account is not None
        owner = await prove_contact(session, kind=row.contact_kind, value=row.contact_value, account=account)
        return owner, await attach_orders(session, owner, store), row.purpose
    owner, attached = await _proven(session, store, row)
    return owner, attached, row.purpose
