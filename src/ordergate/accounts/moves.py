"""What accounts do when an order moves (a follower of orders/state.py `move()`, registered by
ordergate.wiring, run in the move's transaction): points on completion, their reversal on
cancellation or a full refund, and automatic accounts on a guest's first funded order."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ordergate import clock
from ordergate.accounts.loyalty import credit_order, reverse_order
from ordergate.accounts.models import EMAIL, PENDING, PHONE, Account, AccountContact
from ordergate.orders.models import Order, OrderEvent
from ordergate.orders.status import OrderStatus
from ordergate.stores.models import Store


async def follow_order_move(session: AsyncSession, order: Order, event: OrderEvent) -> None:
    to = event.to_status
    if to == OrderStatus.COMPLETED and order.account_id is not None:
        store = await session.get(Store, order.store_id)
        if store is not None:
            await credit_order(session, order, store)
    elif to in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) and order.account_id is not None:
        await reverse_order(session, order)
    elif to == OrderStatus.FUNDED and order.account_id is None and order.source == "web-guest":
        store = await session.get(Store, order.store_id)
        if store is not None and store.automatic_accounts:
            await make_pending_account(session, order)


async def make_pending_account(session: AsyncSession, order: Order) -> Account | None:
    """A pending account for the order's contact, unless that contact already has one. It shows
    nothing and attaches nothing until the contact is verified (a claim or a sign-in code)."""
    if order.email:
        kind, value = EMAIL, order.email.strip().lower()
    elif order.phone:
        kind, value = PHONE, order.phone.strip()
    else:
        return None
    known = await session.scalar(
        select(AccountContact.id).where(AccountContact.kind == kind, AccountContact.value == value)
    )
    if known is not None:
        return None
    now = clock.now()
    try:
        async with session.begin_nested():  # a second funded order at the same moment makes none
            account = Account(status=PENDING, user_handle=secrets.token_urlsafe(24), created_at=now)
            session.add(account)
            await session.flush()
            session.add(AccountContact(account_id=account.id, kind=kind, value=value, created_at=now))
            await session.flush()
    except IntegrityError:
        return None
    return account
