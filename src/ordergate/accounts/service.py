"""What every account use case shares: proving a contact, attaching orders, and the account's views.

Claims (claims.py), sessions (sessions.py), passkeys (passkeys.py), loyalty (loyalty.py) and
account checkout (checkout.py) build on these."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ordergate import clock, money, security
from ordergate.accounts.errors import ContactTaken
from ordergate.accounts.loyalty import balance, credit_order, ledger, points_by_order
from ordergate.accounts.models import (
    ACTIVE,
    EMAIL,
    PENDING,
    PHONE,
    Account,
    AccountContact,
    Passkey,
)
from ordergate.accounts.schemas import (
    AccountOrderOut,
    AccountOut,
    ContactOut,
    LoyaltyEntryOut,
    LoyaltyOut,
    PasskeyOut,
    ShipmentLinkOut,
)
from ordergate.errors import Conflict, NotFound
from ordergate.notifications.sealing import SealBroken, unseal
from ordergate.notifications.service import link_context
from ordergate.orders.models import Order
from ordergate.orders.status import OrderStatus
from ordergate.orders.views import mask_email, mask_phone, tracking_url
from ordergate.payments.service import confirming
from ordergate.settings import Settings
from ordergate.stores.models import Store

MAX_ORDERS_SHOWN = 200


def contact_key(kind: str, value: str) -> str:
    """How a contact is compared and stored: email addresses whole in lower case, phones as E.164."""
    return value.strip().lower() if kind == EMAIL else value.strip()


def kind_of(value: str) -> str:
    return EMAIL if "@" in value else PHONE


def mask(kind: str, value: str) -> str:
    return mask_email(value) if kind == EMAIL else mask_phone(value)


def new_user_handle() -> str:
    return security.new_token()


async def contacts_of(session: AsyncSession, account: Account) -> list[AccountContact]:
    rows = await session.scalars(
        select(AccountContact)
        .where(AccountContact.account_id == account.id)
        .order_by(AccountContact.kind, AccountContact.id)
    )
    return list(rows)


async def verified_contacts(session: AsyncSession, account: Account) -> list[AccountContact]:
    return [c for c in await contacts_of(session, account) if c.verified_at is not None]


async def _contact_row(session: AsyncSession, kind: str, value: str) -> AccountContact | None:
    return await session.scalar(
        select(AccountContact)
        .where(AccountContact.kind == kind, AccountContact.value == contact_key(kind, value))
        .with_for_update()
    )


async def _new_account(session: AsyncSession, *, status: str) -> Account:
    now = clock.now()
    account = Account(
        status=status,
        user_handle=new_user_handle(),
        created_at=now,
        activated_at=now if status == ACTIVE else None,
    )
    session.add(account)
    await session.flush()
    return account


def _activate(account: Account) -> None:
    if account.status != ACTIVE:
        account.status = ACTIVE
        account.activated_at = clock.now()


async def _drop_if_empty_pending(session: AsyncSession, account_id: int) -> None:
    """A pending (automatic) account whose only contact went to another account has nothing left."""
    account = await session.get(Account, account_id)
    if account is None or account.status != PENDING:
        return
    left = await session.scalar(
        select(func.count()).select_from(AccountContact).where(AccountContact.account_id == account_id)
    )
    if not left:
        await session.delete(account)


async def prove_contact(
    session: AsyncSession, *, kind: str, value: str, account: Account | None = None
) -> Account:
    """The buyer has just shown a code sent to this contact. Returns the account that now holds it
    verified: `account` when a signed-in buyer adds it, else the account it already belonged to
    (verified, or made automatically for it), else a new one.

    A contact someone added but never verified is no proof of anything: whoever proves it takes it."""
    key = contact_key(kind, value)
    now = clock.now()
    row = await _contact_row(session, kind, key)
    if row is None:
        owner = account or await _new_account(session, status=ACTIVE)
        try:
            async with session.begin_nested():  # two first proofs at once: one row, the other re-reads
                session.add(AccountContact(account_id=owner.id, kind=kind, value=key, verified_at=now))
                await session.flush()
        except IntegrityError:  # someone else made the row first
            row = await _contact_row(session, kind, key)
            if row is None:
                raise
            if account is None:
                await session.delete(owner)
                await session.flush()
        else:
            _activate(owner)
            return owner
    assert row is not None
    if account is not None:
        if row.account_id != account.id:
            if row.verified_at is not None:
                raise ContactTaken(
                    "This contact is verified on another account: sign in with it there instead",
                    field="contact",
                )
            previous = row.account_id
            row.account_id = account.id
            await session.flush()
            await _drop_if_empty_pending(session, previous)
        row.verified_at = row.verified_at or now
        _activate(account)
        await session.flush()
        return account
    if row.verified_at is not None:
        owner_row = await session.get(Account, row.account_id)
        assert owner_row is not None
        return owner_row
    holder = await session.get(Account, row.account_id)
    if holder is not None and holder.status == PENDING:
        owner = holder  # the automatic account made for this very contact
    else:
        owner = await _new_account(session, status=ACTIVE)
        row.account_id = owner.id
    row.verified_at = now
    _activate(owner)
    await session.flush()
    return owner


async def attach_orders(session: AsyncSession, account: Account, store: Store) -> int:
    """Attach the store's guest orders placed with any contact this account has verified (and no
    other), crediting points for those already completed. Returns how many were attached."""
    contacts = await verified_contacts(session, account)
    emails = [c.value for c in contacts if c.kind == EMAIL]
    phones = [c.value for c in contacts if c.kind == PHONE]
    if not (emails or phones):
        return 0
    matches = []
    if emails:
        matches.append(func.lower(Order.email).in_(emails))
    if phones:
        matches.append(Order.phone.in_(phones))
    orders = list(
        await session.scalars(
            select(Order).where(Order.store_id == store.id, Order.account_id.is_(None), or_(*matches))
        )
    )
    if not orders:
        return 0
    await session.execute(
        update(Order)
        .where(Order.id.in_([o.id for o in orders]), Order.account_id.is_(None))
        .values(account_id=account.id)
        .execution_options(synchronize_session=False)
    )
    for order in orders:
        order.account_id = account.id
        if order.status == OrderStatus.COMPLETED:  # claimed later: its points are earned now
            await credit_order(session, order, store)
    await session.flush()
    return len(orders)


def order_tracking_url(settings: Settings, store: Store, order: Order) -> str | None:
    """The order's tracking link, opened from its seal (other channels' orders have none here)."""
    if order.link_seal is None:
        return None
    try:
        token = unseal(settings, order.link_seal, context=link_context(order.token_hash))
    except SealBroken:
        return None
    if not security.same_secret(security.hash_token(token), order.token_hash):
        return None
    return tracking_url(settings, store, token)


async def account_orders(
    session: AsyncSession, account: Account, *, settings: Settings, store: Store | None = None
) -> list[AccountOrderOut]:
    """The account's orders, newest first (in one store, or in every store)."""
    stmt = (
        select(Order, Store)
        .join(Store, Store.id == Order.store_id)
        .where(Order.account_id == account.id)
        .options(selectinload(Order.lines), selectinload(Order.shipments), selectinload(Order.instructions))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(MAX_ORDERS_SHOWN)
    )
    if store is not None:
        stmt = stmt.where(Order.store_id == store.id)
    rows = (await session.execute(stmt)).all()
    points = await points_by_order(session, [order.id for order, _ in rows])
    return [
        AccountOrderOut(
            number=order.number,
            store=shop.slug,
            status=order.status,
            created_at=order.created_at,
            total=money.text(order.total, order.currency),
            currency=order.currency,
            item_count=sum(line.quantity for line in order.lines),
            source=order.source,
            tracking_url=order_tracking_url(settings, shop, order),
            shipments=[
                ShipmentLinkOut(carrier=s.carrier, tracking_number=s.tracking_number, shipped_at=s.shipped_at)
                for s in order.shipments
            ],
            points=points.get(order.id, 0),
            payment_received=confirming(order),
        )
        for order, shop in rows
    ]


async def passkeys_of(session: AsyncSession, account: Account) -> list[PasskeyOut]:
    rows = await session.scalars(
        select(Passkey).where(Passkey.account_id == account.id).order_by(Passkey.created_at, Passkey.id)
    )
    return [
        PasskeyOut(id=p.id, name=p.name, created_at=p.created_at, last_used_at=p.last_used_at) for p in rows
    ]


async def account_view(
    session: AsyncSession,
    account: Account,
    *,
    settings: Settings,
    store: Store | None = None,
    attached: int = 0,
) -> AccountOut:
    return AccountOut(
        id=account.id,
        status=account.status,
        created_at=account.created_at,
        contacts=[
            ContactOut(
                kind=c.kind, value=c.value, verified=c.verified_at is not None, verified_at=c.verified_at
            )
            for c in await contacts_of(session, account)
        ],
        passkeys=await passkeys_of(session, account),
        orders=await account_orders(session, account, settings=settings, store=store),
        attached=attached,
    )


async def remove_contact(session: AsyncSession, account: Account, contact_id: int) -> None:
    """Drop a contact; the last verified one stays (it is how the buyer signs in without a passkey)."""
    contacts = await contacts_of(session, account)
    target = next((c for c in contacts if c.id == contact_id), None)
    if target is None:
        raise NotFound("No such contact on this account", field="contact")
    others_verified = [c for c in contacts if c.verified_at is not None and c.id != contact_id]
    if target.verified_at is not None and not others_verified:
        raise Conflict("This is the account's only verified contact; add another first", field="contact")
    await session.execute(delete(AccountContact).where(AccountContact.id == target.id))
    await session.flush()


def random_digits(length: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


async def loyalty_view(session: AsyncSession, account: Account, store: Store) -> LoyaltyOut:
    entries = await ledger(session, account_id=account.id, store_id=store.id)
    return LoyaltyOut(
        store=store.slug,
        balance=await balance(session, account_id=account.id, store_id=store.id),
        points_per_unit=store.loyalty_points_per_unit,
        entries=[
            LoyaltyEntryOut(order_number=number, kind=e.kind, points=e.points, created_at=e.created_at)
            for e, number in entries
        ],
    )
