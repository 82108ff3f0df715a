"""Refunds settling after they were asked for.

A provider may answer a refund "pending" and settle it later: Stripe tells us with its refund.*
events (received through the payment inbox like every callback); a BTCPay refund is a pull
payment that the buyer claims and the store pays out, which the worker asks BTCPay about. A
pending refund becomes succeeded, or failed: a failed refund holds nothing any more (the amount
can be refunded again) and the operator is told on the order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock, money
from ordergate.orders.service import load_order
from ordergate.orders.state import record_event
from ordergate.payments.models import Refund
from ordergate.payments.protocol import ProviderUnavailable, RefundUpdate
from ordergate.payments.refund_calls import RefundAnswer, btcpay_refund_state
from ordergate.payments.refunds import (
    FAILED,
    PENDING,
    SUCCEEDED,
    finish_refund,
    locked_refunds,
)
from ordergate.payments.service import flag
from ordergate.stores.models import PaymentMethod, Store

if TYPE_CHECKING:
    import httpx

# How often the worker asks BTCPay about a refund the buyer has not been paid yet.
BTCPAY_POLL = timedelta(minutes=5)


async def apply_refund_update(
    session: AsyncSession, *, store_id: int | None, kind: str, news: RefundUpdate, actor: str
) -> tuple[str, str | None, int | None]:
    """Record what the provider says of one of our refunds, in the caller's transaction.
    Returns (status, detail, order id) as the payment inbox keeps them."""
    named = [Refund.provider_reference == news.provider_reference] if news.provider_reference else []
    named += [Refund.public_id == news.public_id] if news.public_id else []
    if not named:
        return "ignored", "a refund event that names no refund", None
    found = (
        await session.execute(
            select(Refund.id, Refund.order_id)
            .where(Refund.store_id == store_id, Refund.kind == kind, or_(*named))
            .limit(1)
        )
    ).first()
    store = await session.get(Store, store_id) if found is not None else None
    if found is None or store is None:
        return "unmatched", f"no refund of this store is {news.provider_reference or news.public_id}", None
    order = await load_order(session, store, order_id=found[1])
    refunds = await locked_refunds(session, order)
    refund = next(r for r in refunds if r.id == found[0])
    if refund.state == PENDING and refund.provider_reference is None:
        # Our ask's answer was lost (the worker would ask again): this event is that answer.
        answer = RefundAnswer(news.state, provider_reference=news.provider_reference, detail=news.detail)
        await finish_refund(session, store, order.number, refund.public_id, answer, actor=actor)
        return "processed", None, order.id
    if news.state == refund.state or news.state == PENDING:
        return "processed", f"refund {refund.public_id} is {refund.state} already", order.id
    label = f"{money.text(refund.amount, refund.currency)} {refund.currency}"
    if refund.state == PENDING and news.state == SUCCEEDED:
        refund.state, refund.updated_at = SUCCEEDED, clock.now()
        record_event(session, order, "refund_succeeded", actor=actor, data={"refund": refund.public_id})
    elif news.state == FAILED:
        refund.state, refund.updated_at, refund.detail = FAILED, clock.now(), news.detail or refund.detail
        record_event(
            session,
            order,
            "refund_failed",
            actor=actor,
            data={"refund": refund.public_id, "reason": news.detail},
        )
        flag(
            order,
            f"Refund {refund.public_id} of {label} failed at {kind} after it was accepted"
            f"{': ' + news.detail if news.detail else ''}. Nothing holds that amount now: refund it "
            "again or pay the buyer another way",
            session=session,
        )
    else:  # succeeded after it failed: money went out that we had written off
        flag(
            order,
            f"{kind} says refund {refund.public_id} of {label} succeeded after it failed",
            session=session,
        )
    await session.flush()
    return "processed", None, order.id


@dataclass(frozen=True)
class _Claim:
    refund_id: int
    store_id: int
    pull_payment_id: str
    amount: Decimal
    config: dict[str, Any]


async def _due_btcpay_refunds(session: AsyncSession, now: datetime) -> list[_Claim]:
    rows = (
        await session.execute(
            select(Refund.id, Refund.store_id, Refund.provider_reference, Refund.amount, PaymentMethod.config)
            .join(
                PaymentMethod,
                (PaymentMethod.store_id == Refund.store_id) & (PaymentMethod.key == Refund.method),
            )
            .where(
                Refund.state == PENDING,
                Refund.kind == "btcpay",
                Refund.provider_reference.is_not(None),
                Refund.updated_at <= now - BTCPAY_POLL,
            )
            .order_by(Refund.updated_at, Refund.id)
            .limit(20)
        )
    ).all()
    return [_Claim(r[0], r[1], str(r[2]), r[3], dict(r[4] or {})) for r in rows]


async def check_btcpay_refunds(maker: async_sessionmaker[AsyncSession], *, http: httpx.AsyncClient) -> int:
    """Worker: ask BTCPay where its pending refunds stand (no transaction open while asking)."""
    now = clock.now()
    async with maker() as session, session.begin():
        due = await _due_btcpay_refunds(session, now)
    settled = 0
    for claim in due:
        try:
            news = await btcpay_refund_state(claim.config, claim.pull_payment_id, claim.amount, http)
        except ProviderUnavailable:
            continue  # asked again on the next pass
        async with maker() as session, session.begin():
            if news is None:  # not paid out yet: asked again after BTCPAY_POLL
                await session.execute(
                    update(Refund)
                    .where(Refund.id == claim.refund_id, Refund.state == PENDING)
                    .values(updated_at=now)
                )
                continue
            status, _, _ = await apply_refund_update(
                session, store_id=claim.store_id, kind="btcpay", news=news, actor="btcpay"
            )
            settled += status == "processed"
    return settled
