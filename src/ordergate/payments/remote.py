"""Opening the provider's side of a pending instruction (BTCPay invoice, Stripe PaymentIntent).

The order and its pending instruction are committed first, so a provider that is down loses
nothing. Then, outside any transaction, the provider is asked; a short transaction stores the
answer. A claim (`checked_at`) keeps two callers from asking at the same time; the buyer's page
asks at once (POST .../payment-instruction) and the worker asks for anything still pending."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ordergate import clock
from ordergate.notifications.sealing import seal
from ordergate.orders.models import Order
from ordergate.orders.schemas import TrackingOut
from ordergate.orders.service import load_order, track
from ordergate.orders.status import OrderStatus
from ordergate.payments.models import PaymentInstruction
from ordergate.payments.outside import CALL_TIMEOUT, outside_client
from ordergate.payments.protocol import PendingInstruction, ProviderUnavailable, sealed_context
from ordergate.payments.providers import remote_provider
from ordergate.payments.service import REMOTE_KINDS, active_instruction
from ordergate.settings import Settings
from ordergate.stores.models import PaymentMethod, Store
from ordergate.stores.service import get_store

if TYPE_CHECKING:
    import httpx

CLAIM_FOR = timedelta(seconds=30)
log = structlog.get_logger("ordergate.payments")


async def prepare_instruction(
    maker: async_sessionmaker[AsyncSession],
    instruction_id: int,
    *,
    http: httpx.AsyncClient,
    settings: Settings | None,
) -> str:
    """ "prepared", "busy" (someone else is asking right now) or "not_needed"; raises
    ProviderUnavailable when the provider cannot be reached (the claim is then released)."""
    now = clock.now()
    async with maker() as session, session.begin():
        row = await session.scalar(
            select(PaymentInstruction).where(PaymentInstruction.id == instruction_id).with_for_update()
        )
        if (
            row is None
            or row.kind not in REMOTE_KINDS
            or row.provider_ref is not None
            or row.superseded_at is not None
            or row.expires_at <= now
        ):
            return "not_needed"
        if row.checked_at is not None and row.checked_at > now - CLAIM_FOR:
            return "busy"
        order = await session.get(Order, row.order_id)
        if order is None or order.status != OrderStatus.AWAITING_PAYMENT:
            return "not_needed"
        slug = await session.scalar(select(Store.slug).where(Store.id == order.store_id))
        config = await session.scalar(
            select(PaymentMethod.config).where(
                PaymentMethod.store_id == order.store_id, PaymentMethod.key == row.method
            )
        )
        row.checked_at = now
        pending = PendingInstruction(
            instruction_id=row.id,
            order_number=order.number,
            store_slug=slug or "",
            total=order.total,
            currency=order.currency,
            expires_at=row.expires_at,
        )
        kind = row.kind
    provider = remote_provider(kind)
    assert provider is not None
    try:
        prepared = await provider.prepare(dict(config or {}), pending, http)  # no transaction open
    except ProviderUnavailable as exc:
        log.warning("payment_prepare_failed", kind=kind, instruction=instruction_id, detail=exc.detail)
        async with maker() as session, session.begin():
            await session.execute(
                update(PaymentInstruction)
                .where(PaymentInstruction.id == instruction_id, PaymentInstruction.provider_ref.is_(None))
                .values(checked_at=None)
            )
        raise
    async with maker() as session, session.begin():
        row = await session.scalar(
            select(PaymentInstruction).where(PaymentInstruction.id == instruction_id).with_for_update()
        )
        if row is None or row.provider_ref is not None or row.superseded_at is not None:
            log.warning(
                "payment_prepare_orphaned", kind=kind, instruction=instruction_id, ref=prepared.provider_ref
            )
            return "not_needed"
        row.provider_ref = prepared.provider_ref
        row.provider_status = (prepared.status or "")[:32] or None
        row.asset, row.amount, row.rate = prepared.asset, prepared.amount, prepared.rate
        row.destination, row.uri = prepared.destination, prepared.uri
        if prepared.sealed and settings is None:  # prepare_pending never asks for those without it
            raise ProviderUnavailable("The server key is needed to keep the answer", field="payment_method")
        sealed = {
            name: seal(settings, value, context=sealed_context(instruction_id, name))
            for name, value in prepared.sealed.items()
            if settings is not None
        }
        details = {**row.details, **prepared.details, **({"sealed": sealed} if sealed else {})}
        row.details = {k: v for k, v in details.items() if k != "preparing"}
        if prepared.expires_at is not None:
            row.expires_at = prepared.expires_at  # the provider's clock decides what is late there
    return "prepared"


async def prepare_for_buyer(
    maker: async_sessionmaker[AsyncSession], slug: str, token: str, *, settings: Settings
) -> TrackingOut:
    """The buyer's page asks for its payment instruction: opened now if still pending."""
    async with maker() as session, session.begin():
        store = await get_store(session, slug)
        order = await load_order(session, store, token=token)
        instruction = active_instruction(order)
        target = (
            instruction.id
            if instruction is not None
            and instruction.kind in REMOTE_KINDS
            and instruction.provider_ref is None
            else None
        )
    if target is not None:
        async with outside_client(CALL_TIMEOUT) as http:
            await prepare_instruction(maker, target, http=http, settings=settings)
    async with maker() as session, session.begin():
        store = await get_store(session, slug)
        return await track(session, store, token, settings=settings)


async def prepare_pending(
    maker: async_sessionmaker[AsyncSession],
    *,
    http: httpx.AsyncClient,
    settings: Settings | None = None,
    limit: int = 20,
) -> int:
    """Worker: open every remote instruction still pending (nobody asked, or the provider was down).
    Without the server settings, kinds whose answer is sealed at rest (Stripe) are left to the page."""
    now = clock.now()
    kinds = [
        k
        for k in REMOTE_KINDS
        if settings is not None or not getattr(remote_provider(k), "seals_details", False)
    ]
    async with maker() as session, session.begin():
        ids = list(
            await session.scalars(
                select(PaymentInstruction.id)
                .join(Order, Order.id == PaymentInstruction.order_id)
                .where(
                    PaymentInstruction.kind.in_(kinds),
                    PaymentInstruction.provider_ref.is_(None),
                    PaymentInstruction.superseded_at.is_(None),
                    PaymentInstruction.expires_at > now,
                    (PaymentInstruction.checked_at.is_(None))
                    | (PaymentInstruction.checked_at <= now - CLAIM_FOR),
                    Order.status == OrderStatus.AWAITING_PAYMENT,
                )
                .order_by(PaymentInstruction.id)
                .limit(limit)
            )
        )
    prepared = 0
    for instruction_id in ids:
        try:
            if await prepare_instruction(maker, instruction_id, http=http, settings=settings) == "prepared":
                prepared += 1
        except ProviderUnavailable:
            continue  # logged; asked again after the claim lapses
    return prepared
