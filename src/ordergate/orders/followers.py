"""Who else reacts when an order moves: packages that depend on Orders register here (at startup,
through ordergate.wiring), so Orders never imports them. Followers run inside move()'s transaction,
so what they write (loyalty points, an automatic account) commits or rolls back with the move."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ordergate.orders.models import Order, OrderEvent

MoveFollower = Callable[[AsyncSession, Order, OrderEvent], Awaitable[None]]
RefundFollower = Callable[[AsyncSession, Order], Awaitable[None]]

_followers: list[MoveFollower] = []
_refund_followers: list[RefundFollower] = []


def follow_moves(follower: MoveFollower) -> None:
    """Call `follower(session, order, status_event)` after every move; registering twice is a no-op."""
    if follower not in _followers:
        _followers.append(follower)


async def announce_move(session: AsyncSession, order: Order, event: OrderEvent) -> None:
    for follower in _followers:
        await follower(session, order, event)


def follow_refunds(follower: RefundFollower) -> None:
    """Call `follower(session, order)` whenever the order's accepted refunds (`order.refunded`) change."""
    if follower not in _refund_followers:
        _refund_followers.append(follower)


async def announce_refund(session: AsyncSession, order: Order) -> None:
    for follower in _refund_followers:
        await follower(session, order)
